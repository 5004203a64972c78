// Asks for pipeline, ref and inputs (declared inputs prefilled), triggers the run and opens it. For a
// project with a repository the ref is picked from its branches and tags (the default branch first).
import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, errorMessage, errorText } from '../api/client';
import { useTriggerRun } from '../api/mutations';
import { queries } from '../api/queries';
import { ErrorBanner } from '../components/common';
import { RefPicker } from '../components/RefPicker';
import { navigate, runPath } from '../router';

type InputRow = { key: string; value: string; required: boolean; description: string | undefined };

/** Trigger errors about the ref itself: the ref field is marked as the one to fix. */
const REF_ERRORS = ['unknown_ref', 'invalid_ref', 'unknown_commit'];

type RunDialogProps = {
  project: string;
  /** Whether the project has a repository: then the ref is resolved to one of its commits. */
  hasRepository: boolean;
  pipelines: string[];
  initialPipeline: string;
  onClose: () => void;
};

export function RunDialog({ project, hasRepository, pipelines, initialPipeline, onClose }: RunDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [pipeline, setPipeline] = useState(initialPipeline);
  // With a repository the picker starts on its default branch once the branches have loaded.
  const [ref, setRef] = useState(hasRepository ? '' : 'main');
  const [rows, setRows] = useState<InputRow[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [refInvalid, setRefInvalid] = useState(false);
  // Empty: the pipeline's own priority.
  const [priority, setPriority] = useState('');
  const trigger = useTriggerRun();
  const detail = useQuery(queries.pipeline(project, pipeline));

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  // The chosen pipeline's declared inputs, each time one is chosen.
  const declaredInputs = detail.data?.inputs;
  useEffect(() => {
    if (!declaredInputs) return;
    const declared = Object.entries(declaredInputs).map(([key, def]) => ({ key, value: def.default ?? '', required: Boolean(def.required), description: def.description }));
    // What must be filled in comes first; the sort is stable, so the pipeline's order holds within each group.
    setRows(declared.sort((a, b) => Number(b.required) - Number(a.required)));
  }, [declaredInputs]);

  const update = (index: number, patch: Partial<InputRow>) => setRows((current) => current.map((row, i) => (i === index ? { ...row, ...patch } : row)));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setRefInvalid(false);
    const inputs = Object.fromEntries(rows.filter((row) => row.key.trim()).map((row) => [row.key.trim(), row.value]));
    try {
      const run = await trigger.mutateAsync({ project, pipeline, ref: ref.trim() || undefined, inputs, priority: priority.trim() === '' ? undefined : Number(priority) });
      onClose();
      navigate(runPath(run.id));
    } catch (failure) {
      setError(`The run did not start: ${errorMessage(failure)}`);
      setRefInvalid(failure instanceof ApiError && REF_ERRORS.includes(failure.code));
    }
  };

  return (
    <dialog ref={dialog} className="dialog" onClose={onClose} aria-label="Run pipeline">
      <form onSubmit={submit}>
        <h2>Run a pipeline</h2>
        <label>
          Pipeline
          <select name="pipeline" value={pipeline} onChange={(event) => setPipeline(event.target.value)}>
            {pipelines.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        {hasRepository ? (
          <RefPicker project={project} value={ref} onChange={setRef} invalid={refInvalid} />
        ) : (
          <label>
            Branch or ref
            <input name="ref" value={ref} onChange={(event) => setRef(event.target.value)} placeholder="main" aria-invalid={refInvalid || undefined} />
          </label>
        )}
        <label>
          Priority
          <input
            name="priority"
            type="number"
            step={1}
            value={priority}
            onChange={(event) => setPriority(event.target.value)}
            placeholder={`${detail.data?.priority ?? 0} (the pipeline's)`}
            aria-describedby="priority-help"
          />
          <span className="muted small" id="priority-help">
            Higher goes first in the queue.
          </span>
        </label>
        <fieldset className="inputs">
          <legend>Inputs</legend>
          {rows.length === 0 && <p className="muted small">No inputs. Add key=value pairs if the pipeline reads any.</p>}
          {rows.map((row, index) => (
            <div className="input-item" key={index}>
              <div className="input-row">
                <input aria-label="Input name" placeholder="name" value={row.key} onChange={(event) => update(index, { key: event.target.value })} />
                <span>=</span>
                <input
                  aria-label={`Value of ${row.key || 'input'}`}
                  aria-describedby={row.description || row.required ? `input-description-${index}` : undefined}
                  placeholder={row.required ? 'required' : 'value'}
                  required={row.required}
                  value={row.value}
                  onChange={(event) => update(index, { value: event.target.value })}
                />
                <button type="button" className="link-button" onClick={() => setRows((current) => current.filter((_, i) => i !== index))} aria-label="Remove input">
                  ✕
                </button>
              </div>
              {(row.description || row.required) && (
                <div className="input-description muted small" id={`input-description-${index}`}>
                  {row.required && <strong className="required">Required. </strong>}
                  {row.description}
                </div>
              )}
            </div>
          ))}
          <button type="button" className="link-button" onClick={() => setRows((current) => [...current, { key: '', value: '', required: false, description: undefined }])}>
            + Add input
          </button>
        </fieldset>
        <ErrorBanner error={error ?? errorText(detail.error)} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={trigger.isPending}>
            {trigger.isPending ? 'Starting…' : 'Start run'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
