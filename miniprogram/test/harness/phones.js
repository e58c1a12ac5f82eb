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

/** On an order's page (pages/work-orders/detail), the reporter (or a plan's 科室联系人) signs on their
 * own phone: the sign page fills in their name; the signature confirms the order, back on its page. */
async function signOwnOrder(phone, name) {
  await phone.tap('.sign-btn')
  if (phone.route !== 'packages/engineer/pages/sign/index') throw new Error(`.sign-btn opened ${phone.route}`)
  if (phone.page.instance.data.signerName !== name) {
    throw new Error(`the sign page filled in “${phone.page.instance.data.signerName}”, not ${name}`)
  }
  await phone.stroke('.signature-canvas', [
    { x: 30, y: 50 },
    { x: 80, y: 20 },
    { x: 120, y: 70 },
  ])
  await phone.tap('.submit-sign-btn')
  const result = phone.text('.sign-result-title')
  if (!result.includes('已签字确认')) throw new Error(`the signature did not confirm: ${result}`)
  await phone.tap('.back-btn')
}

module.exports = { boundPhone, signOwnOrder }
