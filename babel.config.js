// babel-jest turns the ES-module dependencies of JupyterLab (yjs, lib0, @jupyter/ydoc…) into CommonJS for
// the jsdom test project, with JupyterLab's own configuration.
module.exports = require('@jupyterlab/testing/lib/babel-config');
