/** The label shown for the app's version, e.g. "Version 0.1.0". */
export function versionLabel(version: string): string {
  const bare = version.trim().replace(/^v/i, '')
  return bare ? `Version ${bare}` : 'Version unknown'
}

/** Asks the backend for the app's version; never rejects (a failed call says "unknown"). */
export async function loadVersionLabel(get: () => Promise<string>): Promise<string> {
  try {
    return versionLabel(await get())
  } catch {
    return versionLabel('')
  }
}
