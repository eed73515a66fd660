/**
 * Modules imported as raw text (`?raw`: the rule in webpack.config.js).
 */
declare module '*?raw' {
  const text: string;
  export default text;
}
