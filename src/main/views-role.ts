// Wiring of the inventory-views aggregator group (filled in once the aggregator lands).
export {};
