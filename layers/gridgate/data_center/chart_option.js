  /** One chart's ECharts options, for the data-center page and the statistics report alike:
   *  title, legend under it, value axis at round numbers (ECharts' own 1-2-5 steps; whole counts
   *  unless the spec says `fraction`), text sized for the box it is in (a 390 px phone reads 13 px).
   *  A spec is {id, title, categories, series: [{name, data}], horizontal, fraction}. */
  const CHART_PALETTE = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f"];
  function chartOption(spec, width, fontFamily) {
    const small = width < 480;
    const font = small ? 13 : 12;
    const category = { type: "category", data: spec.categories,
                       axisLabel: { fontSize: font, color: "#2d3748", interval: spec.categories.length > 12 && small ? "auto" : 0,
                                    width: small ? 72 : 110, overflow: "truncate" } };
    const value = { type: "value", minInterval: spec.fraction ? 0 : 1, axisLabel: { fontSize: font, color: "#2d3748" },
                    splitLine: { lineStyle: { color: "#e2e8f0" } } };
    return {
      animation: false,
      color: CHART_PALETTE,
      textStyle: { fontFamily },
      aria: { enabled: true, label: { description: spec.title } },
      title: { text: spec.title, left: 0, top: 0, textStyle: { fontSize: small ? 15 : 14, color: "#1a202c" } },
      legend: { top: 28, left: 0, itemWidth: 14, itemHeight: 10, textStyle: { fontSize: font, color: "#2d3748" } },
      grid: { top: 64, left: 4, right: 16, bottom: 4, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: spec.horizontal ? value : category,
      yAxis: spec.horizontal ? { ...category, inverse: true } : value,
      series: spec.series.map((s) => ({ type: "bar", name: s.name, data: s.data, barMaxWidth: 36 })),
    };
  }
