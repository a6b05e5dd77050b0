/** Running ONNX graphs: an engine (one worker thread with ONNX Runtime sessions) and host tensors. */
export { Engine, Session, defaultEngine, type EngineOptions, type RunOptions, type ValueInfo } from './engine.ts';
export { hostTensor, checkHostTensor, type HostTensor } from './tensor.ts';
export { toOrt, fromOrt } from './ort-node.ts';
