// The one place koffi and libc are loaded; every binding module declares its functions on this.
import koffi from 'koffi';

export { koffi };
export const libc = koffi.load('libc.so.6');
