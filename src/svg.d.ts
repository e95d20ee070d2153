declare module '*.svg' {
  const value: string;
  export default value;
}

declare module '*.wasm' {
  const url: string;
  export default url;
}
