/**
 * A timer longer than 2^31-1 ms fires after 1 ms in Node, with only a warning: a limit window or
 * budget that silently stops counting. Any such warning in a test process fails the run.
 */
process.on('warning', (warning) => {
  if (warning.name === 'TimeoutOverflowWarning') throw warning;
});
