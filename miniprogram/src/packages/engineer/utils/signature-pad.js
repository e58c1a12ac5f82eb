// 客户签字: the strokes of a signature drawn with a finger, as plain data (no canvas here, so the
// logic is unit-tested in Node): each touch adds a stroke, each move a segment to draw; jitter
// below MIN_STEP is dropped; a signature counts only when the ink is long enough to be one.
const MIN_STEP = 2 // px: closer points are the finger resting
const MIN_INK = 40 // px of line in all: less is a tap or a dot, not a signature

function distance(a, b) {
  return Math.hypot(b.x - a.x, b.y - a.y)
}

function pointOf(touch) {
  return { x: Math.round(touch.x), y: Math.round(touch.y) }
}

function createPad() {
  let strokes = []
  let drawing = false

  return {
    /** A finger down: a new stroke. */
    begin(touch) {
      strokes.push([pointOf(touch)])
      drawing = true
    },
    /** A finger moving: the segment [from, to] to draw, or null (no stroke, or jitter). */
    extend(touch) {
      if (!drawing) return null
      const stroke = strokes[strokes.length - 1]
      const from = stroke[stroke.length - 1]
      const to = pointOf(touch)
      if (distance(from, to) < MIN_STEP) return null
      stroke.push(to)
      return [from, to]
    },
    end() {
      drawing = false
    },
    clear() {
      strokes = []
      drawing = false
    },
    /** Strokes drawn, each a list of points (copies). */
    strokes() {
      return strokes.map((stroke) => stroke.map((point) => ({ ...point })))
    },
    /** The length of line drawn, in px. */
    ink() {
      let total = 0
      for (const stroke of strokes) {
        for (let i = 1; i < stroke.length; i += 1) total += distance(stroke[i - 1], stroke[i])
      }
      return total
    },
    isSigned() {
      return this.ink() >= MIN_INK
    },
  }
}

module.exports = { createPad, MIN_STEP, MIN_INK }
