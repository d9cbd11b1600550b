import {
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

/**
 * Shared building blocks of the dashboards: one Prometheus data source chosen
 * by a variable, and panels that take PromQL directly so that every query in
 * dashboards/ is a plain string the dashboard test can evaluate.
 */
export const datasource: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

export const datasourceVariable = () =>
  new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');

/** A multi-value label variable; panels filter with `label=~"$name"`. */
export const labelVariable = (name: string, label: string, metric: string) =>
  new QueryVariableBuilder(name)
    .label(label)
    .datasource(datasource)
    .query(`label_values(${metric}, ${name})`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .multi(true)
    .includeAll(true)
    .allValue('.*');

export interface Query {
  expr: string;
  legend?: string;
  instant?: boolean;
}

const target = (q: Query, i: number) => {
  const b = new DataqueryBuilder()
    .expr(q.expr)
    .refId(String.fromCharCode(65 + i))
    .legendFormat(q.legend ?? '__auto');
  return q.instant ? b.instant().format(PromQueryFormat.Table) : b.range();
};

export function timeseries(title: string, unit: string, queries: Query[], description = '') {
  const p = new TimeseriesPanel().title(title).description(description).datasource(datasource).unit(unit).height(8).span(12);
  queries.forEach((q, i) => p.withTarget(target(q, i)));
  return p;
}

/** A single number with green / amber / red steps at `warn` and `crit`. */
export function stat(title: string, unit: string, query: Query, warn: number, crit: number, description = '') {
  return new StatPanel()
    .title(title)
    .description(description)
    .datasource(datasource)
    .unit(unit)
    .height(5)
    .span(6)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']))
    .thresholds(
      new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
        { value: null, color: 'green' },
        { value: warn, color: 'orange' },
        { value: crit, color: 'red' },
      ]),
    )
    .withTarget(target(query, 0));
}

export function table(title: string, queries: Query[], description = '') {
  const p = new TablePanel().title(title).description(description).datasource(datasource).height(8).span(24);
  queries.forEach((q, i) => p.withTarget(target({ ...q, instant: true }, i)));
  return p;
}
