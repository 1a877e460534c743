export function renderReport(_r: unknown): string { return "<html></html>"; }
