// Files setup.sh puts beside berth. A module at this depth runs from build/native/ or, bundled,
// from build/bundle/: either way the checkout is two folders up.
import { fileURLToPath } from 'node:url';

export const checkoutDir = fileURLToPath(new URL('../../', import.meta.url));

/** A CRIU that works on this kernel: setup.sh builds one when the host's fails `criu check`. */
export const builtCriu = `${checkoutDir}.cache/criu/criu`;
