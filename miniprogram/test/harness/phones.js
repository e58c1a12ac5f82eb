// A phone bound to a demo account through the bind page (getPhoneNumber with the account's
// number), back on the home page: where a journey for a role starts.
const { MiniProgram } = require('./runtime')

async function boundPhone(number) {
  const phone = new MiniProgram({ privacyAgreed: true })
  await phone.launch('/pages/bind/index')
  await phone.getPhoneNumber('.phone-btn', { phone: number })
  if (phone.route !== 'pages/index/index') throw new Error(`binding ${number} ended on ${phone.route}`)
  return phone
}

module.exports = { boundPhone }
