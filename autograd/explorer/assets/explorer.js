/* chainrule's backprop explorer: stepping through both passes, the details panel, module clusters,
   search, pan and zoom. Plain JavaScript on the page's own data (the JSON in #cr-data and the SVG
   that Graphviz drew); it loads nothing. */
(function () {
  'use strict';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var data = JSON.parse(document.getElementById('cr-data').textContent);
  var app = document.getElementById('cr-app');
  var svg = document.getElementById('cr-svg');
  var graphEl = document.getElementById('cr-graph');
  var drawing = svg.querySelector('g.graph') || svg; // Graphviz's group: the drawing's coordinates
  var statusEl = document.getElementById('cr-status');
  var progressEl = document.querySelector('#cr-progress > div');
  var details = document.getElementById('cr-details');
  var steps = data.steps, N = steps.length, nodes = data.nodes, edges = data.edges;
  var isScalar = data.kind === 'scalar';
  var embedded = window.self !== window.top;

  // -- numbers ------------------------------------------------------------------------------------
  function num(x) { return typeof x === 'string' ? (x === 'nan' ? NaN : x === 'inf' ? Infinity : -Infinity) : x; }
  function fmt(x, p) {
    if (x === null || x === undefined) return '–';
    x = num(x);
    if (isNaN(x)) return 'nan';
    if (!isFinite(x)) return x > 0 ? 'inf' : '-inf';
    if (x === 0) return '0';
    var s = x.toPrecision(p || 4);
    if (s.indexOf('e') >= 0) {
      var parts = s.split('e');
      return parts[0].replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '') + 'e' + parts[1];
    }
    return s.indexOf('.') >= 0 ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function shapeText(shape) { return '(' + shape.join(', ') + (shape.length === 1 ? ',' : '') + ')'; }
  // a value, gradient or term in one short string: a Scalar's number, a tensor's element sum
  function brief(c) {
    if (!c) return '';
    if (c.v !== undefined) return fmt(c.v);
    if (c.terms !== undefined) return '\u03a3 ' + fmt(c.sum) + ' (' + c.terms + ' terms)';
    return '\u03a3 ' + fmt(c.sum);
  }
  function exact(c) { // what tests and the sum check read: the number, the values, else the sum
    if (!c) return null;
    if (c.v !== undefined) return c.v;
    if (c.values !== undefined) return c.values;
    return c.sum;
  }

  // -- the drawing's elements -----------------------------------------------------------------
  function unitOf(id) { return /_op$/.test(id) ? id.slice(0, -3) : id; }
  var unitEls = {}, edgeEls = {}, clusterEls = {}, gradTexts = {};
  Array.prototype.forEach.call(svg.querySelectorAll('g.node[data-node-id]'), function (g) {
    var id = g.getAttribute('data-node-id'), u = unitOf(id);
    unitEls[u] = unitEls[u] || [];
    if (id === u) unitEls[u].unshift(g); else unitEls[u].push(g); // the node itself first, then its operation
    Array.prototype.forEach.call(g.querySelectorAll('text'), function (t) {
      if (/^(grad |\|\|grad\|\| )/.test(t.textContent)) (gradTexts[u] = gradTexts[u] || []).push([t, t.textContent]);
    });
  });
  Array.prototype.forEach.call(svg.querySelectorAll('g.edge[data-edge-id]'), function (g) {
    edgeEls[g.getAttribute('data-edge-id')] = g;
  });
  Array.prototype.forEach.call(svg.querySelectorAll('g.cluster[data-cluster]'), function (g) {
    clusterEls[g.getAttribute('data-cluster')] = g;
  });
  var stepOf = {};
  steps.forEach(function (u, k) { stepOf[u] = k; });
  var clusters = {}, clusterOf = {}; // path -> record; unit -> its clusters' paths, outermost first
  data.clusters.forEach(function (c) {
    clusters[c.path] = c;
    c.units.forEach(function (u) { (clusterOf[u] = clusterOf[u] || []).push(c.path); });
  });
  Object.keys(clusterOf).forEach(function (u) {
    clusterOf[u].sort(function (a, b) { return clusters[a].depth - clusters[b].depth; });
  });
  var searchText = {};
  steps.forEach(function (u) {
    var n = nodes[u];
    searchText[u] = [u, n.name, n.op || '', n.label || '', n.scope || '', n.step || ''].join(' ').toLowerCase();
  });

  function layer(id) {
    var g = document.createElementNS(SVGNS, 'g');
    g.setAttribute('id', id);
    drawing.appendChild(g);
    return g;
  }
  var contribLayer = layer('cr-contribs'), coverLayer = layer('cr-covers');

  // -- state ----------------------------------------------------------------------------------
  var pos = 0;            // 0: ready; 1..N: forward step pos; N+1..2N: backward step pos-N
  var selected = null, hovered = null, timer = null, matches = [], matchAt = -1;
  var collapsed = {};
  data.clusters.forEach(function (c) { if (c.collapsed) collapsed[c.path] = true; });

  function phase() { return pos === 0 ? 'ready' : pos <= N ? 'forward' : 'backward'; }
  function current() { return pos === 0 ? null : pos <= N ? steps[pos - 1] : steps[2 * N - pos]; }
  function computed(u) { return pos >= N || stepOf[u] < pos; }
  function reached(u) { return pos > N && stepOf[u] >= 2 * N - pos; } // the backward pass has visited u
  function stepName(u) { var n = nodes[u]; return n.step || n.name || n.op || u; }
  function coverOf(u) { // the outermost collapsed cluster that hides u, or null
    var cs = clusterOf[u] || [];
    for (var i = 0; i < cs.length; i++) if (collapsed[cs[i]]) return cs[i];
    return null;
  }

  // -- contributions on the edges ---------------------------------------------------------------
  var contribEls = {};
  function pointOnPath(edgeEl, t) {
    var path = edgeEl.querySelector('path');
    if (!path) return null;
    try {
      var len = path.getTotalLength();
      return path.getPointAtLength(len * t);
    } catch (e) {
      var nums = (path.getAttribute('d') || '').match(/-?[\d.]+/g) || [];
      if (nums.length < 2) return null;
      return { x: +nums[0], y: +nums[1] };
    }
  }
  function contribEl(id) {
    if (contribEls[id] !== undefined) return contribEls[id];
    var e = edges[id], edgeEl = edgeEls[id];
    if (!e || e.internal || !e.c || !edgeEl) return (contribEls[id] = null);
    var slot = edgeEl.querySelector('text.cr-slot'), p = null;
    if (slot) {
      var b = slot.getBBox();
      if (b.width) p = { x: b.x + b.width / 2, y: b.y + b.height / 2 };
    }
    if (!p) p = pointOnPath(edgeEl, 0.5);
    if (!p) return (contribEls[id] = null);
    var g = document.createElementNS(SVGNS, 'g');
    g.setAttribute('class', 'cr-contrib');
    g.setAttribute('data-edge-id', id);
    g.setAttribute('data-value', JSON.stringify(exact(e.c)));
    var rect = document.createElementNS(SVGNS, 'rect');
    var text = document.createElementNS(SVGNS, 'text');
    text.setAttribute('x', p.x);
    text.setAttribute('y', p.y + 3.2);
    text.setAttribute('text-anchor', 'middle');
    text.textContent = brief(e.c);
    g.appendChild(rect);
    g.appendChild(text);
    contribLayer.appendChild(g);
    var w = Math.max(20, (text.getComputedTextLength() || text.textContent.length * 5.4) + 6);
    rect.setAttribute('x', p.x - w / 2);
    rect.setAttribute('y', p.y - 5.5);
    rect.setAttribute('width', w);
    rect.setAttribute('height', 11);
    return (contribEls[id] = g);
  }

  // -- collapsed modules ------------------------------------------------------------------------
  var coverEls = {};
  function coverEl(path) {
    if (coverEls[path]) return coverEls[path];
    var c = clusters[path], el = clusterEls[path];
    var shape = el && el.querySelector('path, polygon');
    if (!shape) return null;
    var b = shape.getBBox();
    var g = document.createElementNS(SVGNS, 'g');
    g.setAttribute('class', 'cr-cover');
    g.setAttribute('data-cover', path);
    var rect = document.createElementNS(SVGNS, 'rect');
    rect.setAttribute('x', b.x); rect.setAttribute('y', b.y);
    rect.setAttribute('width', b.width); rect.setAttribute('height', b.height);
    rect.setAttribute('rx', 6);
    g.appendChild(rect);
    var lines = [[path, 'cr-cover-title'], [c.ops + ' ops, ' + c.params + ' params', '']];
    if (c.gradNorm !== null && c.gradNorm !== undefined) lines.push(['||grad|| of its parameters ' + fmt(c.gradNorm), '']);
    lines.push(['collapsed: click to expand', '']);
    // as large as fits (readable when zoomed out), at most 3 times the drawing's text
    var size = Math.max(8, Math.min(30, b.height / (lines.length * 1.3 + 1.2), b.width / 24));
    var y0 = b.y + b.height / 2 - (lines.length - 1) * size * 0.65;
    lines.forEach(function (line, i) {
      var t = document.createElementNS(SVGNS, 'text');
      t.setAttribute('x', b.x + b.width / 2);
      t.setAttribute('y', y0 + i * size * 1.3 + size * 0.35);
      t.setAttribute('font-size', (i ? size : size * 1.2).toFixed(1));
      t.setAttribute('text-anchor', 'middle');
      if (line[1]) t.setAttribute('class', line[1]);
      t.textContent = line[0];
      g.appendChild(t);
    });
    coverEls[path] = g;
    return g;
  }
  function applyCollapse() {
    var paths = data.clusters.map(function (c) { return c.path; });
    // covers: deeper ones first, so that an outer cover lies on top of an inner one
    paths.slice().sort(function (a, b) { return clusters[b].depth - clusters[a].depth; }).forEach(function (p) {
      var show = collapsed[p] && !hiddenByAncestor(p);
      var el = show ? coverEl(p) : coverEls[p];
      if (!el) return;
      if (show) coverLayer.appendChild(el); else if (el.parentNode) el.parentNode.removeChild(el);
    });
    steps.forEach(function (u) {
      var hide = coverOf(u) !== null;
      (unitEls[u] || []).forEach(function (g) { g.classList.toggle('cr-in-collapsed', hide); });
    });
    Object.keys(edges).forEach(function (id) {
      var e = edges[id], a = coverOf(e.tail), b = coverOf(e.head);
      var hide = a !== null && a === b;
      if (edgeEls[id]) edgeEls[id].classList.toggle('cr-in-collapsed', hide);
      if (contribEls[id]) contribEls[id].classList.toggle('cr-in-collapsed', hide);
    });
    paths.forEach(function (p) {
      if (clusterEls[p]) clusterEls[p].classList.toggle('cr-in-collapsed', hiddenByAncestor(p));
    });
    renderModules();
  }
  function hiddenByAncestor(path) {
    return Object.keys(collapsed).some(function (q) { return collapsed[q] && path.indexOf(q + '.') === 0; });
  }
  function toggleCluster(path, state) {
    if (!clusters[path]) return;
    collapsed[path] = state === undefined ? !collapsed[path] : state;
    if (!collapsed[path]) delete collapsed[path];
    applyCollapse();
    render();
  }
  function renderModules() {
    var box = document.getElementById('cr-modules');
    if (!data.clusters.length) { box.innerHTML = ''; return; }
    var html = '<h4>modules</h4><div class="cr-module-all"><button type="button" id="cr-collapse-all">collapse all</button> ' +
      '<button type="button" id="cr-expand-all">expand all</button></div>';
    data.clusters.forEach(function (c) {
      var on = !!collapsed[c.path];
      html += '<div class="cr-module" style="padding-left:' + (c.depth - 1) * 14 + 'px">' +
        '<button type="button" class="cr-module-toggle" data-cluster="' + esc(c.path) + '" aria-expanded="' + !on +
        '" title="' + (on ? 'expand ' : 'collapse ') + esc(c.path) + '">' + (on ? '+' : '\u2212') + '</button>' +
        '<span>' + esc(c.path) + ' <span class="cr-note">' + c.ops + ' ops, ' + c.params + ' params</span></span></div>';
    });
    box.innerHTML = html;
  }
  document.getElementById('cr-modules').addEventListener('click', function (ev) {
    var b = ev.target.closest('button');
    if (!b) return;
    if (b.id === 'cr-collapse-all' || b.id === 'cr-expand-all') {
      collapsed = {};
      if (b.id === 'cr-collapse-all') data.clusters.forEach(function (c) { if (c.depth === 1) collapsed[c.path] = true; });
      applyCollapse();
      render();
    } else if (b.hasAttribute('data-cluster')) {
      toggleCluster(b.getAttribute('data-cluster'));
    }
  });

  // -- drawing the state ------------------------------------------------------------------------
  function elsOf(u) { var c = coverOf(u); return c ? [coverEls[c]].filter(Boolean) : (unitEls[u] || []); }
  function render() {
    var ph = phase(), cur = current();
    app.setAttribute('data-phase', ph);
    app.setAttribute('data-step', String(pos));
    app.setAttribute('data-current', cur || '');
    app.setAttribute('data-selected', selected || '');
    svg.querySelectorAll('.cr-current, .cr-selected').forEach(function (el) {
      el.classList.remove('cr-current', 'cr-selected');
    });
    steps.forEach(function (u) {
      var pending = !computed(u), has = reached(u);
      (unitEls[u] || []).forEach(function (g) {
        g.classList.toggle('cr-pending', pending);
        g.classList.toggle('cr-has-grad', has);
      });
      (gradTexts[u] || []).forEach(function (pair) { pair[0].textContent = has ? pair[1] : pair[1].replace(/^(grad|\|\|grad\|\|) .*/, '$1 ?'); });
    });
    Object.keys(coverEls).forEach(function (p) {
      var us = clusters[p].units;
      coverEls[p].classList.toggle('cr-pending', us.length > 0 && !us.some(computed));
    });
    Object.keys(edges).forEach(function (id) {
      var e = edges[id], el = edgeEls[id];
      if (!el) return;
      var sent = !e.internal && reached(e.head) && !!e.c;
      var summing = ph === 'backward' && sent && e.tail === cur;
      var sending = ph === 'backward' && sent && e.head === cur;
      el.classList.toggle('cr-pending', !computed(e.head));
      el.classList.toggle('cr-reads', ph === 'forward' && e.head === cur);
      el.classList.toggle('cr-sent', sent);
      el.classList.toggle('cr-summing', summing);
      el.classList.toggle('cr-sending', sending);
      var label = sent ? contribEl(id) : contribEls[id];
      if (label) {
        label.style.display = sent ? '' : 'none';
        label.classList.toggle('cr-summing', summing);
        label.classList.toggle('cr-sending', sending);
        if (summing || sending) contribLayer.appendChild(label); // on top of the others
      }
    });
    if (cur) elsOf(cur).forEach(function (g) { g.classList.add('cr-current'); });
    if (selected) elsOf(selected).forEach(function (g) { g.classList.add('cr-selected'); });
    if (ph === 'ready') {
      statusEl.textContent = 'ready: ' + N + ' nodes. \u2192 steps the forward pass, \u2190 the backward pass, Space plays both';
    } else {
      var k = ph === 'forward' ? pos : pos - N;
      var where = coverOf(cur);
      statusEl.textContent = ph + ' ' + k + ' / ' + N + ': ' + stepName(cur) + (where ? ' (in ' + where + ', collapsed)' : '');
    }
    progressEl.style.width = (100 * pos / (2 * N)) + '%';
    showDetails(selected || hovered || cur);
  }

  // -- the details panel ------------------------------------------------------------------------
  function histogram(h, cls) {
    if (!h) return '';
    var W = 160, H = 34, n = h.counts.length, top = Math.max.apply(null, h.counts) || 1, bars = '';
    h.counts.forEach(function (c, i) {
      var bh = c ? Math.max(1, (H - 12) * c / top) : 0;
      bars += '<rect x="' + (i * W / n + 0.5) + '" y="' + (H - 11 - bh) + '" width="' + (W / n - 1) + '" height="' + bh + '"></rect>';
    });
    return '<svg class="cr-hist ' + cls + '" width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + ' ' + H + '">' + bars +
      '<text x="1" y="' + (H - 1) + '">' + esc(fmt(h.lo)) + '</text><text x="' + (W - 1) + '" y="' + (H - 1) +
      '" text-anchor="end">' + esc(fmt(h.hi)) + '</text></svg>';
  }
  function valuesTable(s) { // a small tensor's values: its rows (a vector 8 to a row)
    if (!s.values || s.values.length < 2) return '';
    var cols = s.shape.length >= 2 ? s.shape[s.shape.length - 1] : Math.min(8, s.values.length), rows = '';
    for (var r = 0; r * cols < s.values.length; r++) {
      rows += '<tr>' + s.values.slice(r * cols, (r + 1) * cols).map(function (v) { return '<td>' + esc(fmt(v)) + '</td>'; }).join('') + '</tr>';
    }
    return '<div class="cr-scroll"><table class="cr-values cr-num">' + rows + '</table></div>';
  }
  function summaryHtml(s, cls) { // a value or a gradient: the number, or a tensor's statistics
    if (!s) return '<div class="cr-note">none</div>';
    var attr = ' data-value="' + esc(JSON.stringify(exact(s))) + '"';
    if (s.shape === undefined) return '<div class="' + cls + ' cr-num"' + attr + '>' + esc(fmt(s.v, 8)) + '</div>';
    var out = '<div class="' + cls + ' cr-num"' + attr + '>';
    if (s.v !== undefined) out += esc(fmt(s.v, 8)) + '<br>';
    if (s.n) {
      out += 'min ' + esc(fmt(s.min)) + ', max ' + esc(fmt(s.max)) + ', mean ' + esc(fmt(s.mean)) + '<br>\u03a3 ' +
        esc(fmt(s.sum, 6)) + ', ||\u00b7||\u2082 ' + esc(fmt(s.norm));
      if (s.nan || s.inf) out += '<br><span class="cr-bad">' + (s.nan || 0) + ' NaN, ' + (s.inf || 0) + ' Inf</span>';
    }
    out += '</div>';
    return out + histogram(s.hist, cls === 'cr-grad-value' ? 'cr-grad-hist' : '') + valuesTable(s);
  }
  function who(u) { // a node in a list: its name, id and operation
    var n = nodes[u], name = '', op = '';
    if (n.kind === 'scalar') { name = n.label || ''; op = n.op || ''; }
    else if (n.leaf || n.kind !== 'tensor') name = n.name;
    else op = n.name;
    return (name ? '<b>' + esc(name) + '</b> ' : '') + '<span class="cr-note">' + esc(u) + (op ? ' = ' + esc(op) : '') + '</span>';
  }
  function termLine(id, e, other) {
    var value = esc(brief(e.c));
    if (e.d !== undefined) value = esc(fmt(exact(e.g))) + ' \u00d7 ' + esc(fmt(e.d)) + ' = ' + value;
    return '<li class="cr-term cr-num" data-edge-id="' + esc(id) + '" data-value="' + esc(JSON.stringify(exact(e.c))) +
      '">' + who(other) + ': ' + value + '</li>';
  }
  function relErr(a, b) { // NaN against NaN and Inf against the same Inf agree: the sum carried them along
    a = num(a); b = num(b);
    if (a === b || (isNaN(a) && isNaN(b))) return 0;
    return Math.abs(a - b) / Math.max(1, Math.abs(b));
  }
  function sumCheck(n, terms) { // the terms add up to the gradient: element by element where the values are here
    var g = exact(n.grad);
    if (g === null) return '';
    var parts = terms.map(exact);
    if (n.seed) parts.push(exact(n.seed));
    if (Array.isArray(g) && parts.every(Array.isArray)) {
      var worst = 0;
      g.forEach(function (x, i) {
        var s = 0;
        parts.forEach(function (p) { s += num(p[i]); });
        var err = relErr(s, x);
        worst = isNaN(err) || err > worst ? err : worst;
      });
      return check(worst);
    }
    if (typeof g === 'object') g = n.grad.sum; // a big tensor: the sums add up too
    var total = 0;
    terms.forEach(function (c) { total += num(c.v !== undefined ? c.v : c.sum); });
    if (n.seed) total += num(n.seed.v !== undefined ? n.seed.v : n.seed.sum);
    return '<div class="cr-total cr-num">\u03a3 of the terms = ' + esc(fmt(total, 8)) + '</div>' +
      check(relErr(total, g));
  }
  function check(err) {
    return err <= 1e-5 ? '<div class="cr-ok">= the gradient \u2713 (the multi-path chain rule)</div>'
      : '<div class="cr-bad">differs from the gradient by ' + esc(fmt(err)) + '</div>';
  }
  function showDetails(u) {
    details.setAttribute('data-node-id', u || '');
    if (!u) {
      details.innerHTML = '<h3>' + esc(data.title) + '</h3><div class="cr-sub">' + data.graphNodes + ' graph nodes, ' + N +
        ' steps each way' + (data.folded ? '; large: parts are folded (max_nodes=' + data.maxNodes + ')' : '') +
        '</div><div class="cr-note">Click a node, or step through the passes.</div>';
      return;
    }
    var n = nodes[u], html = '<h3>' + esc(n.name || u) + '</h3>';
    var sub = [u];
    if (n.kind === 'module' || n.kind === 'summary') {
      sub.push(n.members + ' nodes folded into one box');
      html += '<div class="cr-sub">' + sub.map(esc).join(' \u00b7 ') + '</div>';
      html += '<section><h4>operations</h4><div class="cr-num">' + n.ops.map(function (o) { return esc(o[0]) + ' \u00d7' + o[1]; }).join(', ') +
        (n.leaves ? '; ' + n.leaves + ' leaves' : '') + '</div></section>';
      html += '<section><h4>gradient</h4>' + (reached(u) ? '<div class="cr-grad-value cr-num">||grad|| ' + esc(fmt(n.gradNorm)) + '</div>'
        : '<div class="cr-note">not reached yet</div>') + '</section>';
      html += '<div class="cr-note">Folded to keep the page within max_nodes=' + esc(data.maxNodes) +
        '; ag.explore(..., max_nodes=None) draws every node.</div>';
      details.innerHTML = html;
      return;
    }
    if (n.leaf) sub.push(n.requiresGrad ? 'leaf, requires grad' : 'leaf, no gradient (data or a constant)');
    else sub.push('= ' + (n.op || '') + '(' + n.inputs.join(', ') + ')');
    if (n.value && n.value.shape) sub.push(shapeText(n.value.shape) + ' ' + n.value.dtype);
    if (n.scope) sub.push('module ' + n.scope);
    if (n.root) sub.push('output');
    html += '<div class="cr-sub">' + sub.map(esc).join(' \u00b7 ') + '</div>';
    html += '<section><h4>value' + (computed(u) ? '' : ' <span class="cr-note">(forward step ' + (stepOf[u] + 1) + ' computes it)</span>') +
      '</h4>' + summaryHtml(n.value, 'cr-value') + '</section>';
    html += '<section><h4>gradient \u2202out/\u2202' + esc(u) + '</h4>';
    if (!n.requiresGrad) {
      html += '<div class="cr-note">none: it does not require grad</div>';
    } else if (!reached(u)) {
      html += '<div class="cr-note">not reached yet: backward step ' + (N - stepOf[u]) + ' of ' + N + '</div>';
    } else if (!n.grad) {
      html += '<div class="cr-note">no gradient reaches it</div>';
    } else {
      html += summaryHtml(n.grad, 'cr-grad-value');
      var outs = n.out.filter(function (id) { return edges[id].c; });
      html += '<h4>= \u03a3 of ' + (outs.length + (n.seed ? 1 : 0)) + ' term' + (outs.length + (n.seed ? 1 : 0) === 1 ? '' : 's') +
        ', one per edge to a reader (g \u00b7 \u2202reader/\u2202' + esc(u) + ')</h4><ul class="cr-terms cr-sum-terms">';
      if (n.seed) html += '<li class="cr-term cr-seed cr-num" data-value="' + esc(JSON.stringify(exact(n.seed))) + '">seed (an output): ' + esc(brief(n.seed)) + '</li>';
      outs.forEach(function (id) { html += termLine(id, edges[id], edges[id].head); });
      html += '</ul>' + sumCheck(n, outs.map(function (id) { return edges[id].c; }));
      if (n.hooked) html += '<div class="cr-note">a hook changed the gradient it passes on</div>';
    }
    html += '</section>';
    var ins = n['in'].filter(function (id) { return edges[id].c; });
    if (ins.length && reached(u)) {
      html += '<section><h4>sends to its inputs (g \u00b7 \u2202' + esc(u) + '/\u2202input)</h4><ul class="cr-terms cr-send-terms">';
      ins.forEach(function (id) { html += termLine(id, edges[id], edges[id].tail); });
      html += '</ul></section>';
    }
    details.innerHTML = html;
  }

  // -- stepping ---------------------------------------------------------------------------------
  function go(p) {
    pos = Math.max(0, Math.min(2 * N, p));
    selected = null;
    render();
    var cur = current();
    if (cur) reveal(cur);
  }
  function stepForward() { if (pos < N) go(pos + 1); }
  function stepBackward() { go(Math.max(pos, N) + 1); }
  function stop() {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    var b = document.getElementById('cr-play');
    b.textContent = '\u25b6 play';
    b.classList.remove('cr-on');
    b.setAttribute('aria-pressed', 'false');
  }
  function speed() { return 0.5 * Math.pow(60, document.getElementById('cr-speed').value / 100); }
  function tick() {
    go(pos + 1);
    if (pos >= 2 * N) stop();  // stop on the last step itself, not one tick later
    else timer = setTimeout(tick, 1000 / speed());
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (pos >= 2 * N) go(0);
    var b = document.getElementById('cr-play');
    b.textContent = '\u275a\u275a pause';
    b.classList.add('cr-on');
    b.setAttribute('aria-pressed', 'true');
    timer = setTimeout(tick, 0);
  }
  function showSpeed() {
    var s = speed();
    document.getElementById('cr-speed-value').textContent = (s < 10 ? s.toFixed(1) : Math.round(s)) + '/s';
  }
  function on(id, f) { document.getElementById(id).addEventListener('click', function () { f(); }); }
  on('cr-step-forward', function () { stop(); stepForward(); });
  on('cr-step-backward', function () { stop(); stepBackward(); });
  on('cr-undo', function () { stop(); go(pos - 1); });
  on('cr-reset', function () { stop(); hovered = null; go(0); initialView(); });
  on('cr-play', play);
  document.getElementById('cr-speed').addEventListener('input', showSpeed);

  // -- search -----------------------------------------------------------------------------------
  var searchBox = document.getElementById('cr-search');
  function search() {
    var q = searchBox.value.trim().toLowerCase();
    svg.querySelectorAll('.cr-match').forEach(function (el) { el.classList.remove('cr-match'); });
    matches = q ? steps.filter(function (u) { return searchText[u].indexOf(q) >= 0; }) : [];
    matchAt = -1;
    matches.forEach(function (u) { elsOf(u).forEach(function (g) { g.classList.add('cr-match'); }); });
    document.getElementById('cr-search-count').textContent = q ? matches.length + (matches.length === 1 ? ' match' : ' matches') : '';
  }
  function nextMatch() {
    if (!matches.length) return;
    matchAt = (matchAt + 1) % matches.length;
    var u = matches[matchAt];
    (clusterOf[u] || []).forEach(function (p) { if (collapsed[p]) toggleCluster(p, false); });
    select(u);
    document.getElementById('cr-search-count').textContent = (matchAt + 1) + ' / ' + matches.length;
  }
  searchBox.addEventListener('input', search);
  searchBox.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter') { ev.preventDefault(); nextMatch(); }
    if (ev.key === 'Escape') { searchBox.value = ''; search(); searchBox.blur(); }
    ev.stopPropagation();
  });

  // -- pan, zoom, selection ---------------------------------------------------------------------
  var base = svg.viewBox.baseVal, home = { x: base.x, y: base.y, w: base.width, h: base.height }, view = null;
  function setView(v) {
    view = v;
    svg.setAttribute('viewBox', v.x + ' ' + v.y + ' ' + v.w + ' ' + v.h);
  }
  function fit() { setView({ x: home.x, y: home.y, w: home.w, h: home.h }); }
  function toDrawing(cx, cy) {
    var p = svg.createSVGPoint();
    p.x = cx; p.y = cy;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }
  function zoom(f, cx, cy) {
    var r = svg.getBoundingClientRect();
    var p = toDrawing(cx === undefined ? r.left + r.width / 2 : cx, cy === undefined ? r.top + r.height / 2 : cy);
    var w = Math.min(home.w * 4, Math.max(home.w / 60, view.w * f)), k = w / view.w;
    setView({ x: p.x - (p.x - view.x) * k, y: p.y - (p.y - view.y) * k, w: w, h: view.h * k });
  }
  function reveal(u) { // pan so that u is in sight (its cover if it is folded away)
    var els = elsOf(u);
    if (!els.length || !svg.getScreenCTM()) return;
    var r = els[0].getBoundingClientRect(), s = svg.getBoundingClientRect();
    var cx = r.left + r.width / 2, cy = r.top + r.height / 2, mx = s.left + s.width / 2, my = s.top + s.height / 2;
    var inside = cx >= s.left && cx <= s.right && cy >= s.top && cy <= s.bottom;
    var covers = r.left <= mx && r.right >= mx && r.top <= my && r.bottom >= my;
    if (!s.width || inside || covers) return;
    var c = toDrawing(r.left + r.width / 2, r.top + r.height / 2);
    setView({ x: c.x - view.w / 2, y: c.y - view.h / 2, w: view.w, h: view.h });
  }
  function centerOn(u) { // the node in the middle of the view, at the drawing's own size
    var els = u ? elsOf(u) : [];
    if (!els.length || !svg.getScreenCTM()) return;
    var r = els[0].getBoundingClientRect(), s = svg.getBoundingClientRect();
    var c = toDrawing(r.left + r.width / 2, r.top + r.height / 2);
    setView({ x: c.x - s.width / 2, y: c.y - s.height / 2, w: s.width, h: s.height });
  }
  function select(u) {
    selected = u;
    render();
    if (u) reveal(u);
  }
  function initialView() { // the whole graph, unless that makes it too small to read: then its start
    fit();
    var ctm = svg.getScreenCTM(), want = 0.75;
    if (!ctm || !ctm.a || ctm.a >= want) return;
    var k = ctm.a / want;
    setView({ x: home.x, y: home.y, w: home.w * k, h: home.h * k });
  }
  initialView();
  on('cr-fit', fit);
  on('cr-zoom-in', function () { zoom(1 / 1.4); });
  on('cr-zoom-out', function () { zoom(1.4); });
  graphEl.addEventListener('wheel', function (ev) {
    if (embedded && !(ev.ctrlKey || ev.metaKey)) return; // in a notebook the wheel scrolls the notebook
    ev.preventDefault();
    zoom(ev.deltaY > 0 ? 1.15 : 1 / 1.15, ev.clientX, ev.clientY);
  }, { passive: false });
  var drag = null, dragged = false;
  graphEl.addEventListener('pointerdown', function (ev) {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, view: view, scale: svg.getScreenCTM() ? svg.getScreenCTM().a : 1 };
    dragged = false;
  });
  window.addEventListener('pointermove', function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!dragged && Math.abs(dx) + Math.abs(dy) < 4) return;
    dragged = true;
    graphEl.classList.add('cr-dragging');
    setView({ x: drag.view.x - dx / drag.scale, y: drag.view.y - dy / drag.scale, w: drag.view.w, h: drag.view.h });
  });
  window.addEventListener('pointerup', function () { drag = null; graphEl.classList.remove('cr-dragging'); });
  svg.addEventListener('click', function (ev) {
    if (dragged) { dragged = false; return; }
    var cover = ev.target.closest('.cr-cover');
    if (cover) { toggleCluster(cover.getAttribute('data-cover'), false); return; }
    var node = ev.target.closest('g.node[data-node-id]');
    if (node) { select(unitOf(node.getAttribute('data-node-id'))); return; }
    var cl = ev.target.closest('g.cluster[data-cluster]');
    if (cl && ev.target.tagName === 'text') { toggleCluster(cl.getAttribute('data-cluster'), true); return; }
    select(null);
  });
  svg.addEventListener('mouseover', function (ev) {
    var node = ev.target.closest('g.node[data-node-id]');
    var u = node ? unitOf(node.getAttribute('data-node-id')) : null;
    if (u !== hovered) { hovered = u; showDetails(selected || hovered || current()); }
  });
  svg.addEventListener('mouseleave', function () { hovered = null; showDetails(selected || current()); });

  // -- keys -------------------------------------------------------------------------------------
  document.addEventListener('keydown', function (ev) {
    if (ev.target === searchBox || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var k = ev.key, handled = true;
    if (k === 'ArrowRight') { stop(); stepForward(); }
    else if (k === 'ArrowLeft') { stop(); stepBackward(); }
    else if (k === 'Backspace') { stop(); go(pos - 1); }
    else if (k === ' ' || k === 'Spacebar') play();
    else if (k === 'Home') { stop(); go(0); }
    else if (k === 'End') { stop(); go(pos < N ? N : 2 * N); }
    else if (k === '+' || k === '=') { var s = document.getElementById('cr-speed'); s.value = Math.min(100, +s.value + 10); showSpeed(); }
    else if (k === '-' || k === '_') { var t = document.getElementById('cr-speed'); t.value = Math.max(0, +t.value - 10); showSpeed(); }
    else if (k === '/') searchBox.focus();
    else if (k === 'f' || k === 'F') fit();
    else if (k === 'c' || k === 'C') centerOn(selected || current());
    else if (k === 'Escape') { selected = null; searchBox.value = ''; search(); render(); }
    else handled = false;
    if (handled) ev.preventDefault();
  });

  applyCollapse();
  showSpeed();
  render();
  window.chainruleExplorer = {
    data: data,
    state: function () { return { step: pos, phase: phase(), current: current(), selected: selected, steps: N }; }
  };
})();
