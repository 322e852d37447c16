// Loaded synchronously in <head>: applies the saved (or system) theme before the first paint and handles
// every [data-theme-toggle] button and the phone menu ([data-menu]: closed on Escape and outside clicks), on
// dashboards and on the plain server-rendered pages alike.
(function () {
  var KEY = 'platform-theme';
  var root = document.documentElement;
  var saved = null;
  try {
    saved = localStorage.getItem(KEY);
  } catch (e) {
    /* storage disabled */
  }
  var system = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  root.setAttribute('data-theme', saved === 'dark' || saved === 'light' ? saved : system);
  function closeMenus(except) {
    var open = document.querySelectorAll('details[data-menu][open]');
    for (var i = 0; i < open.length; i++) if (open[i] !== except) open[i].removeAttribute('open');
  }
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') closeMenus(null);
  });
  document.addEventListener('click', function (event) {
    var target = event.target;
    closeMenus(target && target.closest ? target.closest('details[data-menu]') : null);
    var button = target && target.closest ? target.closest('[data-theme-toggle]') : null;
    if (!button) return;
    var next = root.getAttribute('data-theme') === 'dark' ? 'light' : 'dark';
    root.setAttribute('data-theme', next);
    try {
      localStorage.setItem(KEY, next);
    } catch (e) {
      /* storage disabled */
    }
    window.dispatchEvent(new Event('platform-theme'));
  });
})();
