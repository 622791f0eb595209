"""The chat's style sheet (a Python string, so it ships with the package)."""

CSS = """
/* The chat's look. Colours work on the light theme; answers and sources stay readable. */
.rag-header h1 { margin: 0 0 2px; font-size: 1.6rem; }
.rag-header p { margin: 0; color: var(--body-text-color-subdued); font-size: 0.95rem; }
.rag-placeholder { text-align: center; color: var(--body-text-color-subdued); line-height: 1.6; }

#ask-row { align-items: stretch; }
#examples { align-items: center; gap: 6px; flex-wrap: wrap; justify-content: flex-start; }
#examples > *, #examples .rag-try { flex: 0 0 auto !important; min-width: 0 !important; }
#examples > .block { width: auto !important; margin: 0 !important; }
.rag-try { color: var(--body-text-color-subdued); font-size: 0.9rem; }
#examples button { flex: 0 1 auto !important; min-width: 0 !important; width: auto !important; }

/* saved chats */
#new-chat { font-weight: 600; }
#chats { max-height: 520px; overflow-y: auto; }
#chats label { width: 100%; font-size: 0.9rem; }
#delete-chat { margin-top: 4px; }

/* answers */
.rag-answer { font-size: 1.05rem; line-height: 1.5; }
.rag-ref { color: var(--color-accent); font-weight: 600; }
.rag-unsupported { text-decoration: underline dotted #dc2626; }
.rag-unsupported-label { color: #991b1b; font-size: 0.85rem; }
mark.rag-short { background: #dcfce7; color: inherit; padding: 0 2px; border-radius: 2px;
  font-style: normal; font-weight: 600; }
.rag-streaming::after { content: "▍"; color: var(--color-accent);
  animation: rag-blink 1s steps(2) infinite; }
@keyframes rag-blink { 50% { opacity: 0; } }
.rag-pending { color: var(--body-text-color-subdued); font-style: italic; }

.rag-sources { margin-top: 10px; }
.rag-sources-label { font-size: 0.75rem; text-transform: uppercase; letter-spacing: 0.06em;
  color: var(--body-text-color-subdued); margin-bottom: 4px; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 10px; margin: 6px 0; background: var(--background-fill-primary); }
.rag-source-head { display: flex; align-items: baseline; gap: 8px; flex-wrap: wrap; }
.rag-num { display: inline-block; min-width: 1.4em; text-align: center; border-radius: 4px;
  background: var(--color-accent); color: white; font-size: 0.8rem; font-weight: 600; }
.rag-title { font-weight: 600; }
.rag-date { color: var(--body-text-color-subdued); font-size: 0.85rem; }
.rag-source-path { font-family: var(--font-mono); font-size: 0.75rem; word-break: break-all;
  color: var(--body-text-color-subdued); margin: 2px 0 6px; }
blockquote.rag-quote { margin: 4px 0; padding: 2px 0 2px 10px;
  border-left: 3px solid var(--color-accent); font-style: italic; }
.rag-context summary { cursor: pointer; font-size: 0.85rem; color: var(--color-accent); }
.rag-context-text { margin-top: 6px; font-size: 0.9rem; line-height: 1.55;
  max-height: 260px; overflow-y: auto; padding: 6px 8px; border-radius: 6px;
  background: var(--background-fill-secondary); }
.rag-context-text mark { background: #fde68a; color: inherit; padding: 0 2px; border-radius: 2px; }

/* abstention and errors: clearly not an answer */
.rag-abstain { border-left: 4px solid #d97706; background: #fffbeb; color: #78350f;
  padding: 8px 12px; border-radius: 6px; }
.rag-abstain-label, .rag-error-label { font-weight: 700; font-size: 0.8rem;
  text-transform: uppercase; letter-spacing: 0.05em; margin-bottom: 2px; }
.rag-hint { font-size: 0.85rem; margin-top: 4px; opacity: 0.85; }
.rag-error { border-left: 4px solid #dc2626; background: #fef2f2; color: #7f1d1d;
  padding: 8px 12px; border-radius: 6px; }

/* side panel */
.rag-panel-title { margin: 0; font-size: 1.05rem; }
.rag-stats { display: flex; gap: 10px; flex-wrap: wrap; align-items: baseline; }
.rag-stat { padding: 6px 10px; border-radius: 8px; background: var(--background-fill-secondary); }
.rag-stat b { font-size: 1.2rem; }
.rag-collection { width: 100%; font-size: 0.8rem; color: var(--body-text-color-subdued); }
.rag-uploads ul { list-style: none; padding: 0; margin: 4px 0 0; }
.rag-upload { padding: 4px 0; border-bottom: 1px solid var(--border-color-primary);
  font-size: 0.9rem; }
.rag-upload-summary { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.rag-badge { display: inline-block; border-radius: 999px; padding: 0 8px; margin-right: 6px;
  font-size: 0.75rem; font-weight: 600; background: #e5e7eb; color: #374151; }
.rag-added .rag-badge { background: #dcfce7; color: #166534; }
.rag-updated .rag-badge { background: #dbeafe; color: #1e40af; }
.rag-failed .rag-badge { background: #fee2e2; color: #991b1b; }
.rag-upload-name { font-family: var(--font-mono); font-size: 0.8rem; word-break: break-all; }
.rag-chunks { margin-left: 6px; font-size: 0.8rem; color: var(--body-text-color-subdued); }
.rag-upload-title { font-size: 0.8rem; color: var(--body-text-color-subdued); }
.rag-reason { color: #991b1b; font-size: 0.8rem; }
.rag-notice { font-size: 0.9rem; padding: 4px 0; }
.rag-notice-ok { color: #166534; }
.rag-notice-error { color: #991b1b; }
"""
