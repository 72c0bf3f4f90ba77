// swagger2openapi ships no types; this covers the one call the generator makes.
declare module "swagger2openapi" {
  interface ConvertOptions {
    patch?: boolean;
    warnOnly?: boolean;
    resolve?: boolean;
  }
  const swagger2openapi: {
    convertObj(document: object, options: ConvertOptions): Promise<{ openapi: object }>;
  };
  export default swagger2openapi;
}
