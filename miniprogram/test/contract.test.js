// The fields the pages' WXML reads from the server's answers exist in the API's OpenAPI document
// (GET /mp/v1/openapi.json, generated from the route table): a field the server renames or drops
// fails here, not on a phone. Each page names the schema of each variable it shows.
const fs = require('fs')
const path = require('path')
const { SRC } = require('./harness/runtime')
const { call } = require('./harness/backend')
const env = require('./harness/env')

const SHOWN = {
  'pages/index/index.wxml': { user: 'User' },
  'pages/device/index.wxml': { device: 'DeviceCard', item: 'WorkOrderRow', file: 'DeviceAttachment' },
  'pages/work-orders/detail.wxml': { order: 'WorkOrderDetail', item: 'Event' },
  'pages/work-orders/new.wxml': { device: 'DeviceCard' },
  'pages/alerts/detail.wxml': { plan: 'AlertPlan' },
  'packages/manager/pages/alerts/index.wxml': { item: 'AlertPlan' },
  'packages/manager/pages/inbox/index.wxml': { item: 'InboxMessage' },
  'packages/manager/pages/emergencies/index.wxml': { item: 'WorkOrderRow' },
  'components/order-list/index.wxml': { item: 'WorkOrderRow' },
  'packages/engineer/pages/order/index.wxml': {
    order: 'WorkOrderDetail',
    event: 'Event',
    part: 'Part',
    record: 'Record',
  },
  'packages/engineer/pages/sign/index.wxml': { order: 'WorkOrderDetail', signOff: 'SignOff' },
  'pages/me/index.wxml': { me: 'User' },
  'components/subscribe-card/index.wxml': { item: 'Subscriptions.items' },
  'packages/vendor-admin/pages/dispatch/index.wxml': { item: 'WorkOrderRow' },
  'packages/vendor-admin/pages/order/index.wxml': { order: 'WorkOrderDetail', candidate: 'Candidate' },
  'packages/vendor-admin/pages/invitations/index.wxml': { item: 'Invitation' },
}
// Pages and components that read no field of an answer themselves: their own state only, or the
// answer handed whole to a component listed above.
const NOTHING_READ = [
  'pages/bind/index.wxml',
  'pages/activate/index.wxml',
  'pages/work-orders/mine.wxml',
  'pages/work-orders/planned.wxml',
  'components/privacy-popup/index.wxml',
  'packages/engineer/pages/queue/index.wxml',
  'packages/manager/pages/follow-ups/index.wxml',
]
let schemas

beforeAll(async () => {
  const answer = await call(`${env.apiBaseUrl}/mp/v1/openapi.json`)
  schemas = answer.data.components.schemas
})

/** The object schema behind $ref / allOf / anyOf / oneOf. */
function resolve(schema) {
  if (!schema) return null
  if (schema.$ref) return resolve(schemas[schema.$ref.split('/').pop()])
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    if (schema[key]) return resolve(schema[key].find((part) => part.$ref || part.properties) || schema[key][0])
  }
  return schema
}

/** Where `fields` (["device", "name"]) leads from `schema`, or null when a step is not there. A
 * free-form object (no properties listed) cannot be checked further and is accepted. */
function lookup(schema, fields) {
  let at = resolve(schema)
  for (const field of fields) {
    if (!at) return null
    if (at.type === 'array') {
      if (field !== 'length') return null
      return at
    }
    if (!at.properties) return at.type === 'object' ? at : null
    if (!(field in at.properties)) return null
    at = resolve(at.properties[field])
  }
  return at
}

/** Every `root.a.b` a WXML file reads inside {{ }}. */
function reads(wxml, root) {
  const found = new Set()
  for (const [, expression] of wxml.matchAll(/\{\{([^}]*)\}\}/g)) {
    for (const [, chain] of expression.matchAll(new RegExp(`(?<![\\w.])${root}((?:\\.[A-Za-z_]\\w*)+)`, 'g'))) {
      found.add(chain.slice(1))
    }
  }
  return [...found]
}

/** A schema by name, or a part of one: "Subscriptions.items" is the schema of one of its items. */
function named(schemaName) {
  const [name, ...fields] = schemaName.split('.')
  const schema = lookup(schemas[name], fields)
  return schema && schema.type === 'array' ? resolve(schema.items) : schema
}

test.each(Object.entries(SHOWN))('%s reads only fields the API documents', (file, roots) => {
  const wxml = fs.readFileSync(path.join(SRC, file), 'utf8')
  for (const [root, schemaName] of Object.entries(roots)) {
    const schema = named(schemaName)
    expect(schema).toBeTruthy()
    const fields = reads(wxml, root)
    expect(fields.length).toBeGreaterThan(0) // the table still matches the page
    const missing = fields.filter((chain) => lookup(schema, chain.split('.')) === null)
    expect({ file, root, schema: schemaName, missing }).toEqual({ file, root, schema: schemaName, missing: [] })
  }
})

test('every page and component is listed, so a new one names what it shows', () => {
  const files = (function walk(dir) {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      if (entry.name === 'miniprogram_npm') return []
      const full = path.join(dir, entry.name)
      return entry.isDirectory() ? walk(full) : full.endsWith('.wxml') ? [path.relative(SRC, full)] : []
    })
  })(SRC)
  const listed = [...Object.keys(SHOWN), ...NOTHING_READ]
  expect(files.filter((file) => !listed.includes(file))).toEqual([])
})

test('a field the API does not have is caught', () => {
  expect(lookup(schemas.DeviceCard, ['name'])).not.toBeNull()
  expect(lookup(schemas.DeviceCard, ['open_orders', 'length'])).not.toBeNull()
  expect(lookup(schemas.WorkOrderRow, ['device', 'name'])).not.toBeNull()
  expect(lookup(schemas.DeviceCard, ['serial_no_typo'])).toBeNull()
  expect(lookup(schemas.WorkOrderRow, ['device', 'nmae'])).toBeNull()
})
