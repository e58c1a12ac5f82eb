/** Back to the page that sent the person to sign in — a path of this site only, never another's. */
export function afterSignIn(redirect: unknown, fallback: string): string {
  const target = typeof redirect === 'string' ? redirect : ''
  return target.startsWith('/') && !target.startsWith('//') && !target.startsWith('/login') ? target : fallback
}
