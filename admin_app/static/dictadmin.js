// Choosing another Level re-renders the form with that Level's layout: the form is
// posted with _level_switch set, the server saves nothing and keeps every typed value.
document.addEventListener('DOMContentLoaded', function () {
  var level = document.querySelector('select[data-level-switch]');
  if (!level) { return; }
  level.addEventListener('change', function () {
    var form = level.form;
    form.querySelector('input[name="_level_switch"]').value = '1';
    form.submit();
  });
});

// A seed check or load runs as a job: follow its progress, then show its report.
document.addEventListener('DOMContentLoaded', function () {
  var bar = document.getElementById('seed-progress');
  if (!bar) { return; }
  function poll() {
    fetch(bar.dataset.url, {headers: {'Accept': 'application/json'}})
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (job.status !== 'queued' && job.status !== 'running') {
          window.location.reload();
          return;
        }
        bar.max = Math.max(job.total, 1);
        bar.value = job.done;
        document.getElementById('seed-done').textContent = job.done;
        document.getElementById('seed-total').textContent = job.total;
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
});
