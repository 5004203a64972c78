// The ref field of a project with a repository: a combobox offering its branches (the default one
// first chosen), filtered as the user types, with matching tags from the refs search. Anything else
// typed (a commit, a ref not listed) is kept as it is: the server resolves it when the run starts.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { errorText } from '../api/client';
import { queries } from '../api/queries';
import type { GitRef } from '../api/wire';
import { ErrorBanner } from './common';
import { useDebounced } from './use-debounced';

/** Options rendered at once; the rest are reached by typing. */
const MAX_OPTIONS = 50;

type RefPickerProps = { project: string; value: string; onChange: (ref: string) => void; invalid?: boolean };

export function RefPicker({ project, value, onChange, invalid = false }: RefPickerProps) {
  const listId = useId();
  const branches = useQuery(queries.branches(project));
  // What the list is filtered by: null shows every branch (nothing typed since the last choice).
  const [filter, setFilter] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const touched = useRef(false);
  const latestOnChange = useRef(onChange);
  latestOnChange.current = onChange;

  // The default branch is the starting choice, unless the user typed before the list arrived.
  const defaultBranch = branches.data?.defaultBranch ?? null;
  useEffect(() => {
    if (!touched.current && defaultBranch) latestOnChange.current(defaultBranch);
  }, [defaultBranch]);

  // Tags come from the server's search, as the typing settles.
  // The last answer stays while the next is asked: it says which text it answers.
  const typed = useDebounced((filter ?? '').trim(), 250);
  const tagSearch = useQuery({ ...queries.refs(project, typed, 'tag'), enabled: Boolean(typed), placeholderData: keepPreviousData });
  const tags = tagSearch.data ?? null;
  const tagError = errorText(tagSearch.error);

  const options = useMemo(() => {
    const needle = (filter ?? '').trim().toLowerCase();
    const listed: GitRef[] = (branches.data?.branches ?? []).map((branch) => ({ ...branch, kind: 'branch' }));
    const matching = listed.filter((ref) => ref.name.toLowerCase().includes(needle));
    // A search for a shorter text returned a superset of what matches now, so it may still be used.
    const found = needle && tags && needle.includes(tags.q.toLowerCase()) ? tags.refs.filter((ref) => ref.name.toLowerCase().includes(needle)) : [];
    const all = [...matching, ...found];
    // The default branch leads the unfiltered list.
    if (!needle && defaultBranch) all.sort((a, b) => Number(b.name === defaultBranch) - Number(a.name === defaultBranch));
    return all;
  }, [branches.data, tags, filter, defaultBranch]);

  const shown = options.slice(0, MAX_OPTIONS);
  // "Nothing matches" is said once the tag search for the typed text has answered, not while it runs.
  const searched = Boolean(filter?.trim()) && tags?.q === filter?.trim();
  const expanded = open && (shown.length > 0 || branches.isPending);

  const choose = (ref: GitRef) => {
    touched.current = true;
    onChange(ref.name);
    setFilter(null);
    setOpen(false);
    setActive(-1);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!open) setOpen(true);
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive((current) => (shown.length === 0 ? -1 : (current + step + shown.length) % shown.length));
    } else if (event.key === 'Enter' && expanded && active >= 0 && shown[active]) {
      // Enter picks the highlighted ref; without one it submits the form as usual.
      event.preventDefault();
      choose(shown[active]);
    } else if (event.key === 'Escape' && expanded) {
      // Closes the list, not the dialog.
      event.preventDefault();
      event.stopPropagation();
      setOpen(false);
    }
  };

  const optionId = (index: number) => `${listId}-option-${index}`;
  return (
    <div className="ref-picker">
      <div className="ref-field">
        <label>
          Branch or ref
          <input
            name="ref"
            role="combobox"
            aria-autocomplete="list"
            aria-expanded={expanded}
            aria-controls={listId}
            aria-activedescendant={expanded && active >= 0 ? optionId(active) : undefined}
            aria-invalid={invalid || undefined}
            autoComplete="off"
            spellCheck={false}
            value={value}
            placeholder={branches.isPending ? 'Loading branches…' : (defaultBranch ?? 'branch, tag or commit')}
            onChange={(event) => {
              touched.current = true;
              onChange(event.target.value);
              setFilter(event.target.value);
              setOpen(true);
              setActive(-1);
            }}
            onFocus={() => setOpen(true)}
            onClick={() => setOpen(true)}
            onBlur={() => setOpen(false)}
            onKeyDown={onKeyDown}
          />
        </label>
        {expanded && (
          <ul className="ref-options" role="listbox" id={listId} aria-label="Branches and tags">
            {branches.isPending && <li className="ref-option-note muted small">Loading branches…</li>}
            {shown.map((ref, index) => (
              <li
                key={`${ref.kind}:${ref.name}`}
                id={optionId(index)}
                role="option"
                aria-selected={index === active || (active < 0 && ref.name === value)}
                className={index === active ? 'ref-option active' : 'ref-option'}
                data-ref={ref.name}
                data-kind={ref.kind}
                // mousedown, not click: the input keeps its focus, so the list does not close first.
                onMouseDown={(event) => {
                  event.preventDefault();
                  choose(ref);
                }}
                onMouseEnter={() => setActive(index)}
              >
                <span className="ref-name">{ref.name}</span>
                {ref.kind === 'tag' && <span className="label-chip">tag</span>}
                {ref.name === defaultBranch && ref.kind === 'branch' && <span className="label-chip">default</span>}
                <code className="muted ref-sha">{ref.commitSha.slice(0, 12)}</code>
              </li>
            ))}
            {options.length > shown.length && <li className="ref-option-note muted small">{options.length - shown.length} more — type to narrow the list</li>}
          </ul>
        )}
      </div>
      {searched && options.length === 0 && branches.data && (
        <p className="muted small ref-hint">No branch or tag matches; the run uses “{value.trim()}” as typed (a ref or a commit).</p>
      )}
      <ErrorBanner error={branches.error ? `Cannot list the repository's branches: ${errorText(branches.error)} Type a ref instead.` : tagError ? `Cannot search tags: ${tagError}` : null} />
    </div>
  );
}
