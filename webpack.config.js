// Merged by @jupyter/builder into the extension's build.
module.exports = {
  module: {
    rules: [
      // tree-sitter's runtime and Python grammar ship as files in static/, imported by URL.
      { test: /\.wasm$/, type: 'asset/resource' }
    ]
  },
  // The Python grammar (447 KiB) trips the default asset-size hint.
  performance: { hints: false },
  resolve: {
    fallback: { fs: false, 'fs/promises': false, module: false }
  }
};
