const privacy = require('./utils/privacy.js')

App({
  onLaunch() {
    privacy.install()
  },
})
