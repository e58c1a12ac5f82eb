// The journeys share one server (global-setup.js), and some change the demo's data for good: an
// order reported and worked to the end shows first in the device's history and its open orders.
// So the order is fixed: the files that read the demo as seeded first (by name), then the
// engineer's journey, then the clinician's 报修 journey, whose completed order would otherwise sit
// on top of the engineer's device history.
const Sequencer = require('@jest/test-sequencer').default
const path = require('path')

const LAST = ['engineer.test.js', 'report.test.js']

class DemoFirstSequencer extends Sequencer {
  sort(tests) {
    const rank = (test) => LAST.indexOf(path.basename(test.path)) + 1 // 0 for every other file
    return [...tests].sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path))
  }
}

module.exports = DemoFirstSequencer
