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
