// The size of a step on the pipeline page: the layout (server) and the nodes (browser) share it.
export const NODE_SIZE = { width: 216, height: 104 };
