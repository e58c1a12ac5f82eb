// What every page for a bound account shares (a Behavior for Component() pages): on load, sign in
// and bind first (utils/sign-in.js: the bind page comes back here), then the page's fetch(); back
// on the page (onShow), fetch again: an order's status may have moved meanwhile. fetch() returns
// the data to show; a failure shows its Chinese message in `error`.
const signIn = require('./sign-in.js')

/** The message to show for a failed call: the field's own when the server named one. */
function messageOf(error) {
  const fields = Object.values(error.fields || {})
  return fields.length ? fields.join('；') : error.message
}

module.exports = Behavior({
  data: { loading: true, error: '' },
  methods: {
    async onLoad(query) {
      this.query = query || {}
      try {
        this.user = await signIn.requireBound(signIn.pageUrl(this.route, this.query))
      } catch (error) {
        this.setData({ loading: false, error: messageOf(error) })
        return
      }
      if (this.user) await this.refresh()
    },
    onShow() {
      if (this.fetched) this.refresh()
    },
    async refresh() {
      try {
        const data = await this.fetch()
        this.fetched = true
        this.setData({ loading: false, error: '', ...data })
      } catch (error) {
        this.setData({ loading: false, error: messageOf(error) })
      }
    },
  },
})
