/** The {@code mtlora} command-line application and the benchmarks. Depends on every other module; nothing depends on it. */
package org.mtlora.bench;
