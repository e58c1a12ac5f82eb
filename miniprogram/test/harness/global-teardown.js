// Stop the server globalSetup started (SIGTERM: it shuts its worker, simulators and embedded
// Redis down and removes its instance directory), killing it if it does not stop in time.
module.exports = async function globalTeardown() {
  const child = globalThis.weixiuServer
  if (!child || child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000)
  await exited
  clearTimeout(timer)
}
