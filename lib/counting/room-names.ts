/** The room of every stream when no `room` option names another. */
export const DEFAULT_ROOM = '';

/** The longest room name accepted. */
const MAX_ROOM_NAME_LENGTH = 128;
/** The longest room name a drawing is given; longer ones end in an ellipsis. */
const MAX_DISPLAYED_ROOM_LENGTH = 64;

/**
 * Control, format (bidi overrides: they would reorder the text drawn around them), surrogate,
 * private-use and separator characters. Global, for `replace`; `search` ignores that.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]/gu;

/** Why a room name is refused (the text of a 400), or undefined when it is fine. */
export function roomNameProblem(name: string): string | undefined {
  if (name.length > MAX_ROOM_NAME_LENGTH) return `The room name is too long: at most ${MAX_ROOM_NAME_LENGTH} characters.`;
  if (name.search(UNPRINTABLE) !== -1) return 'The room name may hold printable characters only.';
  return undefined;
}

/** A room name fit to draw: its printable characters, at most MAX_DISPLAYED_ROOM_LENGTH of them. */
export function displayedRoom(room: string): string {
  const clean = [...room.replace(UNPRINTABLE, '')];
  return clean.length > MAX_DISPLAYED_ROOM_LENGTH ? `${clean.slice(0, MAX_DISPLAYED_ROOM_LENGTH - 1).join('')}…` : clean.join('');
}
