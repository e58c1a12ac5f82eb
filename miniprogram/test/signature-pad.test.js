// The signature's stroke logic (packages/engineer/utils/signature-pad.js), which the canvas page
// draws from: strokes, segments, jitter dropped, and when the ink is a signature.
const path = require('path')
const { SRC } = require('./harness/runtime')
const { createPad, MIN_STEP, MIN_INK } = require(path.join(SRC, 'packages/engineer/utils/signature-pad.js'))

test('each touch starts a stroke and each move gives the segment to draw', () => {
  const pad = createPad()
  pad.begin({ x: 10, y: 10 })
  expect(pad.extend({ x: 30, y: 10 })).toEqual([
    { x: 10, y: 10 },
    { x: 30, y: 10 },
  ])
  expect(pad.extend({ x: 30.4, y: 40.6 })).toEqual([
    { x: 30, y: 10 },
    { x: 30, y: 41 },
  ])
  pad.end()
  pad.begin({ x: 100, y: 100 })
  pad.extend({ x: 110, y: 100 })
  pad.end()
  expect(pad.strokes()).toEqual([
    [
      { x: 10, y: 10 },
      { x: 30, y: 10 },
      { x: 30, y: 41 },
    ],
    [
      { x: 100, y: 100 },
      { x: 110, y: 100 },
    ],
  ])
  expect(pad.ink()).toBeCloseTo(20 + 31 + 10)
})

test('a resting finger draws nothing, nor a move without a touch', () => {
  const pad = createPad()
  expect(pad.extend({ x: 5, y: 5 })).toBeNull() // no finger down
  pad.begin({ x: 0, y: 0 })
  expect(pad.extend({ x: MIN_STEP - 1, y: 0 })).toBeNull()
  expect(pad.strokes()).toEqual([[{ x: 0, y: 0 }]])
  pad.end()
  expect(pad.extend({ x: 50, y: 50 })).toBeNull() // after the finger lifted
})

test('a tap or a short scratch is not a signature; clear starts over', () => {
  const pad = createPad()
  pad.begin({ x: 0, y: 0 })
  pad.end()
  expect(pad.isSigned()).toBe(false)
  pad.begin({ x: 0, y: 0 })
  pad.extend({ x: MIN_INK - 5, y: 0 })
  expect(pad.isSigned()).toBe(false)
  pad.extend({ x: MIN_INK - 5, y: 10 })
  expect(pad.isSigned()).toBe(true)
  const copy = pad.strokes()
  copy[0][0].x = 999 // a copy: the pad keeps its own
  expect(pad.strokes()[0][0].x).toBe(0)
  pad.clear()
  expect(pad.strokes()).toEqual([])
  expect(pad.isSigned()).toBe(false)
})
