/** A message names the field when it carries a path into the object (spec.x, metadata.name, …). */
export function namesField(message: string): boolean {
  if (message.includes('(server error)')) return false;
  return /\b(spec|metadata|status)\.[A-Za-z0-9_[\]]+|\b(spec|metadata)\b:|\bmetadata\.(name|labels|annotations)\b|Go struct field [A-Za-z]+\.[A-Za-z.]+/.test(
    message,
  );
}
