// The record lists' "Select all on this page" box ticks or clears every row's box
// (templates/dictadmin/record_list.html); without it each row is still ticked by hand.
document.addEventListener('DOMContentLoaded', function () {
  var all = document.getElementById('bulk-all');
  if (!all) { return; }
  var rows = function () { return document.querySelectorAll('input.bulk-row'); };
  all.addEventListener('change', function () {
    rows().forEach(function (box) { box.checked = all.checked; });
  });
  document.addEventListener('change', function (event) {
    if (!event.target.classList || !event.target.classList.contains('bulk-row')) { return; }
    var boxes = Array.prototype.slice.call(rows());
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  });
});
