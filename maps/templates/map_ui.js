{% macro script(this, kwargs) %}
(function () {
    var map = {{ this._parent.get_name() }};
    var ctl = {{ this.control.get_name() }};
    var FIND = {{ this.findings_json }};
    var TYPES = {{ this.type_names_json }};
    var COLOURS = {{ this.colours|tojson }};
    var GROUPS = {{ this.groups|tojson }};
    var TXT = {{ this.texts|tojson }};
    var NARROW = window.innerWidth < {{ this.narrow }};
    var meta = {};
    {%- for layer, group, lg, key in this.layers %}
    meta[L.stamp({{ layer.get_name() }})] = {g: {{ group|tojson }}, lg: {{ lg|tojson }}, k: {{ key|tojson }}, l: {{ layer.get_name() }}};
    {%- endfor %}
    Object.keys(meta).forEach(function (k) { meta[k].d = map.hasLayer(meta[k].l); });
    function byKey(key) {
        return Object.keys(meta).map(function (k) { return meta[k]; })
            .filter(function (m) { return m.k === key; })[0];
    }
    function lang() { return document.documentElement.getAttribute('data-lang') === 'en' ? 1 : 0; }

    // ---- layer control: collapsible groups, kept across Leaflet's redraws
    var open = {};
    var update = ctl._update;
    ctl._update = function () {
        update.apply(this, arguments);
        var list = this._overlaysList;
        if (!list) { return this; }
        var boxes = {};
        GROUPS.forEach(function (g) {
            var d = document.createElement('details');
            d.className = 'io-grp';
            d.open = !!open[g[0]];
            d.addEventListener('toggle', function () { open[g[0]] = d.open; });
            var s = document.createElement('summary');
            s.innerHTML = g[1];  // fixed, escaped labels built in Python
            d.appendChild(s);
            boxes[g[0]] = d;
        });
        Array.prototype.slice.call(list.children).forEach(function (lab) {
            var input = lab.querySelector('input');
            var m = input && meta[input.layerId];
            var box = boxes[m ? m.g : ''] || boxes[GROUPS[GROUPS.length - 1][0]];
            box.appendChild(lab);
        });
        GROUPS.forEach(function (g) {
            if (boxes[g[0]].children.length > 1) { list.appendChild(boxes[g[0]]); }
        });
        return this;
    };
    ctl._update();

    // ---- one choropleth at a time; legend sections follow the layers shown
    var legend = document.querySelector('.io-legend');
    function syncLegend() {
        var on = {}, keys = [];
        Object.keys(meta).forEach(function (k) {
            if (map.hasLayer(meta[k].l)) { keys.push(meta[k].k); }
        });
        document.documentElement.setAttribute('data-io-on', keys.sort().join(','));
        Object.keys(meta).forEach(function (k) {
            if (map.hasLayer(meta[k].l) && meta[k].lg) { on[meta[k].lg] = true; }
        });
        if (!legend) { return; }
        legend.querySelectorAll('[data-lg]').forEach(function (el) {
            el.hidden = !on[el.getAttribute('data-lg')];
        });
    }
    map.on('overlayadd', function (e) {
        var m = meta[L.stamp(e.layer)];
        if (m && m.lg === 'choro') {
            Object.keys(meta).forEach(function (k) {
                var o = meta[k];
                if (o.lg === 'choro' && o.l !== e.layer && map.hasLayer(o.l)) { map.removeLayer(o.l); }
            });
        }
        syncLegend();
        writeHash();
    });
    map.on('overlayremove', function () { syncLegend(); writeHash(); });

    // ---- labels: lighter at national zoom
    function zoomClass() {
        map.getContainer().classList.toggle('io-zlow', map.getZoom() < 7);
    }
    map.on('zoomend', zoomClass);
    zoomClass();

    // ---- URL fragment
    function readHash() {
        var h = {};
        location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
            if (!kv) { return; }
            var i = kv.indexOf('=');
            try {
                h[decodeURIComponent(i < 0 ? kv : kv.slice(0, i))] =
                    i < 0 ? '' : decodeURIComponent(kv.slice(i + 1).replace(/\+/g, ' '));
            } catch (err) { /* a malformed part is ignored */ }
        });
        return h;
    }
    var st = {type: '', prov: '', q: ''};
    var ready = false;
    function writeHash() {
        var c = map.getCenter();
        var parts = ['z=' + (Math.round(map.getZoom() * 4) / 4), 'lat=' + c.lat.toFixed(4),
                     'lon=' + c.lng.toFixed(4)];
        document.documentElement.setAttribute('data-io-view', parts.join('&'));
        if (!ready) { return; }
        ['type', 'prov', 'q'].forEach(function (k) {
            if (st[k]) { parts.push(k + '=' + encodeURIComponent(st[k])); }
        });
        var on = [], off = [];
        Object.keys(meta).forEach(function (k) {
            var m = meta[k], now = map.hasLayer(m.l);
            if (now && !m.d) { on.push(m.k); }
            if (!now && m.d) { off.push(m.k); }
        });
        if (on.length) { parts.push('on=' + on.sort().join(',')); }
        if (off.length) { parts.push('off=' + off.sort().join(',')); }
        try { history.replaceState(null, '', '#' + parts.join('&')); } catch (err) { /* file: */ }
    }

    // ---- findings panel (text from data only through textContent)
    var C = L.control({position: 'topleft'});
    var box, sel = {}, lists = {}, count, sep;
    C.onAdd = function () {
        box = L.DomUtil.create('div', 'io-box io-find');
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        var d = document.createElement('details');
        d.open = !NARROW;
        var s = document.createElement('summary');
        s.innerHTML = TXT.title;
        d.appendChild(s);
        var f = L.DomUtil.create('div', 'io-fctl', d);
        sel.type = L.DomUtil.create('select', '', f);
        sel.prov = L.DomUtil.create('select', '', f);
        sel.q = L.DomUtil.create('input', '', f);
        sel.q.type = 'search';
        count = L.DomUtil.create('div', 'io-fcount', d);
        var scroll = L.DomUtil.create('div', 'io-fscroll', d);
        lists.v = L.DomUtil.create('ol', 'io-flist io-fv', scroll);
        sep = L.DomUtil.create('div', 'io-fsep', scroll);
        sep.innerHTML = TXT.overlap_only;
        lists.o = L.DomUtil.create('ol', 'io-flist io-fo', scroll);
        box.appendChild(d);
        box._details = d;
        return box;
    };
    C.addTo(map);
    var provs = {};
    FIND.forEach(function (r) { if (r.p) { provs[r.p] = r.pc; } });
    var provNames = Object.keys(provs).sort(function (a, b) { return a.localeCompare(b, 'vi'); });
    function fillSelects() {
        var l = lang();
        var keepT = sel.type.value, keepP = sel.prov.value;
        sel.type.textContent = ''; sel.prov.textContent = '';
        sel.type.appendChild(new Option(TXT.all_types[l], ''));
        Object.keys(TYPES).forEach(function (t) { sel.type.appendChild(new Option(TYPES[t][l], t)); });
        sel.prov.appendChild(new Option(TXT.all_provs[l], ''));
        provNames.forEach(function (p) { sel.prov.appendChild(new Option(p, p)); });
        sel.type.value = keepT; sel.prov.value = keepP;
        sel.q.placeholder = TXT.search[l];
    }
    function fold(s) {
        return (s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '')
            .replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase();
    }
    function sev(x) {
        if (x === null || x === undefined) { return '–'; }
        var s = x.toFixed(2);
        return lang() ? s : s.replace('.', ',');
    }
    function row(r, i) {
        var li = document.createElement('li');
        li.tabIndex = 0;
        li.setAttribute('data-id', r.id);
        var rank = L.DomUtil.create('span', 'io-fr', li);
        rank.textContent = r.v ? i + 1 : '·';
        var dot = L.DomUtil.create('span', 'io-fd', li);
        dot.style.background = COLOURS[r.t] || '#555';
        var b = L.DomUtil.create('span', 'io-fb', li);
        var n = L.DomUtil.create('span', 'io-fn', b);
        n.dir = 'auto';
        n.textContent = r.n;
        n.title = r.n;
        var m = L.DomUtil.create('span', 'io-fm', b);
        m.dir = 'auto';
        var l = lang();
        m.textContent = (TYPES[r.t] ? TYPES[r.t][l] : r.t) + ' · ' + r.p + ' · ' +
            TXT.severity[l] + ' ' + sev(r.s) + (r.rob ? ' · ' + TXT[r.rob][l] : '');
        return li;
    }
    function render() {
        var q = fold(st.q);
        var shown = FIND.filter(function (r) {
            return (!st.type || r.t === st.type) &&
                (!st.prov || r.p === st.prov || r.pc === st.prov) &&
                (!q || fold(r.n).indexOf(q) >= 0);
        });
        lists.v.textContent = ''; lists.o.textContent = '';
        var nv = 0, no = 0;
        shown.forEach(function (r) {
            if (r.v) { lists.v.appendChild(row(r, nv)); nv += 1; }
            else { lists.o.appendChild(row(r, no)); no += 1; }
        });
        var l = lang();
        count.textContent = TXT.count[l].replace('{v}', nv).replace('{o}', no);
        sep.hidden = no === 0; lists.o.hidden = no === 0;
    }
    function setFilter(k, v) {
        st[k] = v || '';
        if (sel[k].value !== st[k]) { sel[k].value = st[k]; }
        render();
        writeHash();
    }
    sel.type.addEventListener('change', function () { setFilter('type', sel.type.value); });
    sel.prov.addEventListener('change', function () { setFilter('prov', sel.prov.value); });
    sel.q.addEventListener('input', function () { setFilter('q', sel.q.value); });
    var byId = {};
    FIND.forEach(function (r) { byId[r.id] = r; });
    function go(id) {
        var r = byId[id];
        if (!r) { return; }
        map.setView([r.lat, r.lon], Math.max(map.getZoom(), 10), {animate: false});
        var layer = (window.ioFac || {})[id];
        if (layer && map.hasLayer(layer)) { layer.openPopup(); }
        else if ((window.ioPop || {})[id]) {
            L.popup({maxWidth: 380}).setLatLng([r.lat, r.lon]).setContent(window.ioPop[id]).openOn(map);
        }
        if (NARROW) { box._details.open = false; }
    }
    [lists.v, lists.o].forEach(function (ol) {
        ol.addEventListener('click', function (e) {
            var li = e.target.closest('li[data-id]');
            if (li) { go(li.getAttribute('data-id')); }
        });
        ol.addEventListener('keydown', function (e) {
            var li = e.target.closest('li[data-id]');
            if (li && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); go(li.getAttribute('data-id')); }
        });
    });
    new MutationObserver(function () { fillSelects(); render(); })
        .observe(document.documentElement, {attributes: true, attributeFilter: ['data-lang']});

    // ---- narrow screens: everything folded, the layer control collapsed
    if (NARROW) {
        document.querySelectorAll('.io-box details').forEach(function (d) { d.open = false; });
        ctl.collapse();
    }

    // ---- initial state from the fragment
    var h = readHash();
    var z = parseFloat(h.z), la = parseFloat(h.lat), lo = parseFloat(h.lon);
    var start = {{ this.bounds|tojson }};
    if (start && !NARROW) {  // keep the region clear of the findings panel
        map.fitBounds(start, {paddingTopLeft: [350, 10], paddingBottomRight: [10, 10], animate: false});
    }
    if (isFinite(la) && isFinite(lo) && Math.abs(la) <= 90 && Math.abs(lo) <= 180) {
        map.setView([la, lo], isFinite(z) ? Math.max(0, Math.min(18, z)) : map.getZoom(), {animate: false});
    } else if (isFinite(z)) {
        map.setZoom(Math.max(0, Math.min(18, z)), {animate: false});
    }
    (h.off || '').split(',').forEach(function (key) {
        var m = byKey(key);
        if (m && map.hasLayer(m.l)) { map.removeLayer(m.l); }
    });
    (h.on || '').split(',').forEach(function (key) {  // the control fires overlayadd
        var m = byKey(key);
        if (m && !map.hasLayer(m.l)) { map.addLayer(m.l); }
    });
    syncLegend();
    if (h.lang === 'vi' || h.lang === 'en') {  // through the page's own switch
        var b = document.querySelector('.io-lang button[data-lang="' + h.lang + '"]');
        if (b) { b.click(); }
    }
    fillSelects();
    ['type', 'prov', 'q'].forEach(function (k) { if (h[k]) { st[k] = h[k]; sel[k].value = h[k]; } });
    if (st.type && sel.type.value !== st.type) { st.type = ''; }
    if (st.prov && sel.prov.value !== st.prov) {
        var byCode = provNames.filter(function (p) { return provs[p] === st.prov; })[0];
        st.prov = byCode || ''; sel.prov.value = st.prov;
    }
    if (st.type || st.prov || st.q) { box._details.open = true; }
    // open=findings,pairs,legend,title: panels to unfold (closed=...: to fold)
    var panels = {findings: '.io-find', pairs: '.io-pairs', legend: '.io-legend', title: '.io-title'};
    [['open', true], ['closed', false]].forEach(function (o) {
        (h[o[0]] || '').split(',').forEach(function (name) {
            var el = panels[name] && document.querySelector(panels[name] + ' details');
            if (el) { el.open = o[1]; }
            if (name === 'layers') { if (o[1]) { ctl.expand(); } else { ctl.collapse(); } }
            if (GROUPS.some(function (g) { return g[0] === name; })) {  // a layer group
                open[name] = o[1];
                ctl._update();
            }
        });
    });
    render();
    writeHash();  // the view shown, on the page (data-io-view), not yet in the address
    ready = true;
    map.on('moveend', writeHash);
    // the share of the screen left to the map (controls' boxes summed), for checks and tests
    function mapShare() {
        var W = window.innerWidth, H = window.innerHeight, covered = 0;
        document.querySelectorAll('.leaflet-control').forEach(function (el) {
            var r = el.getBoundingClientRect();
            covered += Math.max(0, Math.min(r.right, W) - Math.max(r.left, 0)) *
                Math.max(0, Math.min(r.bottom, H) - Math.max(r.top, 0));
        });
        return Math.max(0, 1 - covered / (W * H));
    }
    document.documentElement.setAttribute('data-io-map-share', mapShare().toFixed(3));
    window.ioUi = {state: st, go: go, render: render};
})();
{% endmacro %}
