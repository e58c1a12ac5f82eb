// A refused form (ApiError) as a page shows it: each message beside its own input when the page
// has one for that field, the rest (or the general message) on top.

/** {error, fields} for setData; `beside` names the fields that show their own message. */
function shown(error, beside) {
  const fields = error.fields || {}
  const elsewhere = Object.keys(fields).filter((name) => !beside.includes(name))
  const besides = Object.keys(fields).length > elsewhere.length
  const message = elsewhere.length ? elsewhere.map((name) => fields[name]).join('；') : besides ? '' : error.message
  return { error: message, fields }
}

module.exports = { shown }
