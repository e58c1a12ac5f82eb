// Photos for a report from a phone's camera: several MB each at full size. Each goes as a JPEG at
// most 1600 px on its long side (the server takes JPEG or PNG up to 5 MB); one the browser cannot
// draw goes as it is, and the server names what is wrong with it. Photos that failed to go wait
// here, per order, to be sent again from the order's page.
import { reactive } from 'vue'

const LONG_SIDE = 1600
const SMALL_ENOUGH = 800 * 1024

export async function shrinkPhoto(file: File): Promise<File> {
  const sendable = file.type === 'image/jpeg' || file.type === 'image/png'
  if (sendable && file.size <= SMALL_ENOUGH) return file
  try {
    const bitmap = await createImageBitmap(file) // upright: the EXIF orientation is applied
    const scale = Math.min(1, LONG_SIDE / Math.max(bitmap.width, bitmap.height))
    const canvas = document.createElement('canvas')
    canvas.width = Math.round(bitmap.width * scale)
    canvas.height = Math.round(bitmap.height * scale)
    canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height)
    bitmap.close()
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85))
    if (!blob || (sendable && blob.size >= file.size)) return file
    return new File([blob], `${file.name.replace(/\.[^.]*$/, '') || 'photo'}.jpg`, { type: 'image/jpeg' })
  } catch {
    return file
  }
}

/** Photos of an order that did not reach the server yet (kept while the page is open). */
export const unsentPhotos = reactive(new Map<number, File[]>())
