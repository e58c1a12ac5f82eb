// 待回访: orders their reporter rated 2 or less, waiting for the office to call back; a tap opens
// the order (pages/work-orders/detail), where 回访 is when the server lists it.
const office = require('../../services/office.js')
const boundPage = require('../../../../utils/bound-page.js')

Component({
  behaviors: [boundPage],
  data: { orders: [] },
  methods: {
    async fetch() {
      return { orders: (await office.followUpsWaiting()).items }
    },
  },
})
