/** The WASI preview1 errno values the host's own functions return. */
export const ERRNO_SUCCESS = 0;
export const ERRNO_FAULT = 21;
