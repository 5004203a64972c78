// One log line with its ANSI colours (anser) and the search matches highlighted.
import Anser from 'anser';
import { memo, type CSSProperties, type ReactNode } from 'react';

type Segment = { text: string; className: string; style: CSSProperties | undefined };

const CUBE = [0, 95, 135, 175, 215, 255];

function paletteColor(index: number): string | null {
  if (index >= 16 && index <= 231) {
    const n = index - 16;
    return `rgb(${CUBE[Math.floor(n / 36)]}, ${CUBE[Math.floor(n / 6) % 6]}, ${CUBE[n % 6]})`;
  }
  if (index >= 232 && index <= 255) {
    const v = 8 + (index - 232) * 10;
    return `rgb(${v}, ${v}, ${v})`;
  }
  return null;
}

function colour(cls: string | null, truecolor: string | null, kind: 'fg' | 'bg', classes: string[], style: CSSProperties): void {
  if (!cls) return;
  const key = kind === 'fg' ? 'color' : 'backgroundColor';
  if (cls === 'ansi-truecolor' && truecolor) style[key] = `rgb(${truecolor})`;
  else if (cls.startsWith('ansi-palette-')) {
    const index = Number(cls.slice('ansi-palette-'.length));
    const basic = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];
    if (index < 8) classes.push(`${kind}-${basic[index]}`);
    else if (index < 16) classes.push(`${kind}-bright-${basic[index - 8]}`);
    else {
      const rgb = paletteColor(index);
      if (rgb) style[key] = rgb;
    }
  } else classes.push(`${kind}-${cls.replace(/^ansi-/, '')}`);
}

function segments(text: string): Segment[] {
  if (!text.includes('\u001b')) return [{ text, className: '', style: undefined }];
  return Anser.ansiToJson(text, { json: true, use_classes: true, remove_empty: true }).map((entry) => {
    const classes: string[] = [];
    const style: CSSProperties = {};
    colour(entry.fg, entry.fg_truecolor, 'fg', classes, style);
    colour(entry.bg, entry.bg_truecolor, 'bg', classes, style);
    for (const decoration of entry.decorations ?? []) classes.push(`ansi-${decoration}`);
    return { text: entry.content, className: classes.join(' '), style: Object.keys(style).length ? style : undefined };
  });
}

function highlight(text: string, query: string, offset: number, active: boolean, key: string): ReactNode[] {
  if (!query) return [text];
  const out: ReactNode[] = [];
  const lower = text.toLowerCase();
  let from = 0;
  for (let at = lower.indexOf(query, 0); at !== -1; at = lower.indexOf(query, at + query.length)) {
    if (at > from) out.push(text.slice(from, at));
    out.push(
      <mark key={`${key}-${offset + at}`} className={active ? 'match match-active' : 'match'}>
        {text.slice(at, at + query.length)}
      </mark>,
    );
    from = at + query.length;
  }
  if (from < text.length) out.push(text.slice(from));
  return out;
}

type AnsiLineProps = { text: string; query: string; active: boolean };

export const AnsiLine = memo(function AnsiLine({ text, query, active }: AnsiLineProps) {
  const lowerQuery = query.toLowerCase();
  let offset = 0;
  return (
    <>
      {segments(text).map((segment, index) => {
        const content = highlight(segment.text, lowerQuery, offset, active, String(index));
        offset += segment.text.length;
        return segment.className || segment.style ? (
          <span key={index} className={segment.className} style={segment.style}>
            {content}
          </span>
        ) : (
          <span key={index}>{content}</span>
        );
      })}
    </>
  );
});
