// What every page for a bound account shares (a Behavior for Component() pages): on load, sign in
// and bind first (utils/sign-in.js: the bind page comes back here), then the page's fetch(); back
// on the page (onShow), fetch again: an order's status may have moved meanwhile. fetch() returns
// the data to show; a failure shows its Chinese message in `error`. A 401 or 403 first asks again
// who we are: a session ended on the PC signs in anew, an identity unbound there binds again.
const signIn = require('./sign-in.js')

/** The message to show for a failed call: the field's own when the server named one. */
function messageOf(error) {
  const fields = Object.values(error.fields || {})
  return fields.length ? fields.join('；') : error.message
}

module.exports = Behavior({
  data: { loading: true, error: '' },
  methods: {
    onLoad(query) {
      this.query = query || {}
      return this.enter(false)
    },
    onShow() {
      if (this.fetched) this.refresh(false)
    },
    async enter(again) {
      try {
        this.user = await signIn.requireBound(signIn.pageUrl(this.route, this.query))
      } catch (error) {
        this.setData({ loading: false, error: messageOf(error) })
        return
      }
      if (this.user) await this.refresh(again)
    },
    async refresh(again) {
      try {
        const data = await this.fetch()
        this.fetched = true
        this.setData({ loading: false, error: '', ...data })
      } catch (error) {
        if (!again && (error.status === 401 || error.status === 403)) {
          // The session ended or the binding went meanwhile (ended or unbound on the PC): ask
          // again who we are; an identity no longer bound goes through the bind page back here.
          signIn.forget()
          await this.enter(true)
          return
        }
        this.setData({ loading: false, error: messageOf(error) })
      }
    },
  },
})
