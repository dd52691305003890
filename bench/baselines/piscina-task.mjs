// Task for the piscina baseline: as trivial as a task can be.
export default function inc(by) {
  return by + 1;
}
