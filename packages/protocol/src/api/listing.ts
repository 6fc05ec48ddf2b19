import { Type } from '@sinclair/typebox';

export const LISTING_FORMATS = ['json', 'text', 'csv'] as const;
export type ListingFormat = (typeof LISTING_FORMATS)[number];

/** `?format=` on listings for scripts; `Accept: text/plain` or `text/csv` does the same. */
export const ListingFormatQuery = {
  format: Type.Optional(
    Type.Union(LISTING_FORMATS.map((f) => Type.Literal(f)), { description: 'json (default), text (aligned columns) or csv' }),
  ),
};
