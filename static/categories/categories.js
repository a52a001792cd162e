/* The review queue: select-all, and the re-score job's live progress over the store's socket. */
(function () {
  'use strict';
  const all = document.getElementById('select-all');
  if (all) {
    all.addEventListener('change', function () {
      document.querySelectorAll('#suggestions tbody input[type=checkbox]').forEach(function (box) { box.checked = all.checked; });
    });
  }
  const live = window.ecomopsLive;
  if (!live) return;
  const bar = document.getElementById('rescore-progress');
  const label = document.getElementById('rescore-job');
  live.on('job.progress', function (msg) {
    if (!bar || msg.job.kind !== 'categories_rescore') return;
    bar.value = msg.job.progress;
    label.textContent = msg.job.progress + '% — ' + (msg.job.error || msg.job.message);
    if (msg.job.status === 'succeeded') { label.textContent += ' (reload to see the new suggestions)'; }
  });
})();
