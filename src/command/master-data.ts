import type { StorageCondition } from '../events/generated/inventory.js';
import { createRandom, deriveSeed, type Random } from '../shared/random.js';

export type ProductCategory = 'FOOD' | 'DAILY_GOODS';
export type CustomerType = 'SUPERMARKET' | 'CONVENIENCE_STORE' | 'RESTAURANT' | 'RETAILER';
export type CompanyType = 'OWN' | 'PARTNER';

export interface Warehouse { warehouseId: string; name: string; location: string; floorAreaM2: number; capacityUnits: number }
export interface Zone {
  zoneId: string;
  warehouseId: string;
  name: string;
  zoneType: StorageCondition;
  capacityUnits: number;
  lowStockThreshold: number;
}
export interface Company { companyId: string; name: string; companyType: CompanyType }
export interface Customer { customerId: string; companyId: string; name: string; customerType: CustomerType }
export interface Product {
  productId: string;
  /** JAN (EAN-13) code, unique. */
  sku: string;
  name: string;
  category: ProductCategory;
  storageCondition: StorageCondition;
  description: string;
  /** Reference only; null for a product not priced yet. */
  priceYen: number | null;
}
export interface MasterData {
  generatorVersion: number;
  seed: number;
  warehouses: Warehouse[];
  zones: Zone[];
  companies: Company[];
  customers: Customer[];
  products: Product[];
}

/** Bump whenever the generator's output for a given seed changes. */
export const MASTER_DATA_GENERATOR_VERSION = 1;

const ZONE_TYPES: readonly StorageCondition[] = ['AMBIENT', 'CHILLED', 'FROZEN'];

// Seed 001 §3.1: floor areas as given; ~200 units per m² of racked floor.
const WAREHOUSES: readonly Warehouse[] = [
  { warehouseId: 'WH-TYO', name: '東京倉庫', location: '東京都江東区新木場', floorAreaM2: 5000, capacityUnits: 1_000_000 },
  { warehouseId: 'WH-OSA', name: '大阪倉庫', location: '大阪府大阪市住之江区南港北', floorAreaM2: 3500, capacityUnits: 700_000 },
  { warehouseId: 'WH-FUK', name: '福岡倉庫', location: '福岡県福岡市東区箱崎ふ頭', floorAreaM2: 2000, capacityUnits: 400_000 },
];
// Shares of a warehouse's capacity per zone, following the product mix (≈72% ambient,
// 21% chilled, 7% frozen by count). They sum to 0.95: docks and aisles hold no stock.
const ZONE_PLAN: Record<StorageCondition, { label: string; share: number; lowStockThreshold: number }> = {
  AMBIENT: { label: '常温区画', share: 0.62, lowStockThreshold: 30 },
  CHILLED: { label: '冷蔵区画', share: 0.24, lowStockThreshold: 15 },
  FROZEN: { label: '冷凍区画', share: 0.09, lowStockThreshold: 10 },
};

// Makers per product group, so a maker's name fits what it sells. The
// wholesaler's private brand can appear in any group.
const BRANDS = {
  飲料: ['富士ビバレッジ', 'さくら食品'], 調味料: ['大和フーズ', 'さくら食品'], 加工食品: ['大和フーズ', '日の出製麺', 'さくら食品'],
  菓子: ['みどり製菓', 'こだま製菓'], 生鮮食品: ['山吹農園', '産直市場'], 乳製品: ['北斗乳業', 'みちのく酪農'],
  日配品: ['こだま食品', '北斗乳業'], 加工肉: ['大和ミート'], 精肉: ['大和ミート', '産直市場'], 鮮魚: ['瀬戸内水産'],
  野菜: ['山吹農園', '産直市場'], 果物: ['山吹農園'], 冷凍食品: ['千鳥冷食', '大和フーズ'], 冷凍菓子: ['北斗乳業', 'みどり製菓'],
  冷凍野菜: ['千鳥冷食'], 冷凍水産: ['瀬戸内水産', '千鳥冷食'], 洗剤: ['東雲ケミカル'],
  トイレタリー: ['若葉トイレタリー', 'あおば生活'], 紙製品: ['白鷺製紙'], 雑貨: ['あおば生活'],
} as const satisfies Record<string, readonly string[]>;
const PRIVATE_BRAND = 'D商事セレクト';
// The maker part of the JAN code: one stable number per brand.
const MAKERS = [...new Set<string>(Object.values(BRANDS).flat()), PRIVATE_BRAND];

/** [item, sizes, min price, max price, group] */
type CatalogItem = readonly [string, readonly string[], number, number, keyof typeof BRANDS];
// Food by storage condition, plus daily goods (always ambient).
const CATALOG: Record<StorageCondition | 'DAILY_GOODS', readonly CatalogItem[]> = {
  AMBIENT: [
    ['緑茶', ['500ml', '2L'], 100, 300, '飲料'], ['ミネラルウォーター', ['500ml', '2L'], 80, 200, '飲料'],
    ['缶コーヒー 微糖', ['185g'], 100, 150, '飲料'], ['炭酸水', ['500ml'], 80, 150, '飲料'],
    ['濃口醤油', ['500ml', '1L'], 200, 600, '調味料'], ['本みりん', ['1L'], 300, 700, '調味料'],
    ['ウスターソース', ['500ml'], 200, 400, '調味料'], ['カップ麺 しょうゆ味', ['1食'], 150, 300, '加工食品'],
    ['レトルトカレー 中辛', ['200g'], 150, 450, '加工食品'], ['ツナ缶', ['70g×3'], 300, 600, '加工食品'],
    ['スパゲッティ', ['500g'], 150, 400, '加工食品'], ['無洗米', ['5kg'], 1800, 3500, '加工食品'],
    ['ポテトチップス うすしお', ['60g'], 100, 200, '菓子'], ['醤油せんべい', ['12枚'], 200, 450, '菓子'],
    ['ミルクチョコレート', ['50g'], 100, 300, '菓子'], ['じゃがいも', ['1kg'], 200, 500, '生鮮食品'],
    ['たまねぎ', ['3個'], 150, 350, '生鮮食品'], ['バナナ', ['1房'], 150, 300, '生鮮食品'],
  ],
  CHILLED: [
    ['牛乳', ['1000ml'], 180, 300, '乳製品'], ['プレーンヨーグルト', ['400g'], 150, 300, '乳製品'],
    ['スライスチーズ', ['7枚'], 200, 400, '乳製品'], ['絹ごし豆腐', ['300g'], 60, 150, '日配品'],
    ['納豆', ['45g×3'], 80, 150, '日配品'], ['生みそ', ['750g'], 300, 600, '調味料'],
    ['ロースハム', ['4枚'], 200, 400, '加工肉'], ['豚こま切れ', ['300g'], 400, 800, '精肉'],
    ['鶏もも肉', ['500g'], 500, 900, '精肉'], ['刺身用サーモン', ['150g'], 500, 1200, '鮮魚'],
    ['塩さば', ['2切'], 300, 600, '鮮魚'], ['カットサラダ', ['150g'], 150, 250, '野菜'],
    ['ほうれん草', ['1束'], 150, 300, '野菜'], ['いちご', ['1パック'], 400, 900, '果物'],
  ],
  FROZEN: [
    ['冷凍餃子', ['12個'], 200, 400, '冷凍食品'], ['冷凍さぬきうどん', ['5食'], 300, 600, '冷凍食品'],
    ['バニラアイスクリーム', ['120ml', '2L'], 150, 800, '冷凍菓子'], ['冷凍枝豆', ['400g'], 200, 450, '冷凍野菜'],
    ['冷凍ピザ', ['1枚'], 300, 700, '冷凍食品'], ['冷凍から揚げ', ['500g'], 500, 1000, '冷凍食品'],
    ['冷凍むきえび', ['200g'], 500, 1000, '冷凍水産'], ['冷凍ブロッコリー', ['300g'], 200, 350, '冷凍野菜'],
  ],
  DAILY_GOODS: [
    ['衣料用洗剤', ['900g', '詰替 720g'], 300, 800, '洗剤'], ['食器用洗剤', ['600ml'], 150, 350, '洗剤'],
    ['シャンプー', ['480ml'], 400, 1200, 'トイレタリー'], ['ボディソープ', ['500ml'], 300, 900, 'トイレタリー'],
    ['歯磨き粉', ['120g'], 150, 400, 'トイレタリー'], ['歯ブラシ', ['3本'], 200, 500, 'トイレタリー'],
    ['トイレットペーパー', ['12ロール'], 400, 800, '紙製品'], ['ティッシュペーパー', ['5箱'], 300, 600, '紙製品'],
    ['ゴミ袋 45L', ['30枚'], 200, 400, '雑貨'], ['食品用ラップ', ['30cm×50m'], 150, 350, '雑貨'],
    ['キッチンスポンジ', ['5個'], 150, 350, '雑貨'], ['ハンドソープ', ['250ml'], 200, 500, 'トイレタリー'],
  ],
};
const STORAGE_TEXT: Record<StorageCondition, string> = {
  AMBIENT: '直射日光・高温多湿を避けて常温で保存',
  CHILLED: '要冷蔵（10℃以下）',
  FROZEN: '要冷凍（-18℃以下）',
};

/**
 * Generates the master data of the inventory domain, deterministically: the
 * same options give deep-equal output, always. Pure — no I/O, no clock.
 * Shares are exact up to rounding (largest remainder), not sampled: products
 * are 70% food / 30% daily goods, food is 60/30/10 ambient/chilled/frozen,
 * daily goods are always ambient; customers follow seed 001's partner mix.
 * Products and customers draw from independent random streams, so changing
 * one count does not reshuffle the other.
 */
export function generateMasterData({ seed = 42, products = 8000, customers = 430 } = {}): MasterData {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  // The SKU's item part has six digits; see jan().
  if (!Number.isInteger(products) || products < 0 || products > 999_999) throw new RangeError(`products must be 0..999999, got ${products}`);
  if (!Number.isInteger(customers) || customers < 0) throw new RangeError(`customers must be >= 0, got ${customers}`);
  const zones = WAREHOUSES.flatMap((w) =>
    ZONE_TYPES.map((t) => ({
      zoneId: `${w.warehouseId}-${t}`,
      warehouseId: w.warehouseId,
      name: `${w.name} ${ZONE_PLAN[t].label}`,
      zoneType: t,
      capacityUnits: Math.floor(w.capacityUnits * ZONE_PLAN[t].share),
      lowStockThreshold: ZONE_PLAN[t].lowStockThreshold,
    })),
  );
  const partners = generatePartners(createRandom(deriveSeed(seed, 'customers')), customers);
  return {
    generatorVersion: MASTER_DATA_GENERATOR_VERSION,
    seed,
    warehouses: WAREHOUSES.map((w) => ({ ...w })),
    zones,
    companies: partners.companies,
    customers: partners.customers,
    products: generateProducts(createRandom(deriveSeed(seed, 'products')), products),
  };
}

function generateProducts(rng: Random, count: number): Product[] {
  const [foods, goods] = apportion(count, [0.7, 0.3]) as [number, number];
  const [ambient, chilled, frozen] = apportion(foods, [0.6, 0.3, 0.1]) as [number, number, number];
  const kinds = rng.shuffle([
    ...repeat(['FOOD', 'AMBIENT'] as const, ambient),
    ...repeat(['FOOD', 'CHILLED'] as const, chilled),
    ...repeat(['FOOD', 'FROZEN'] as const, frozen),
    ...repeat(['DAILY_GOODS', 'AMBIENT'] as const, goods),
  ]);
  return kinds.map(([category, storageCondition], i) => {
    const food = category === 'FOOD';
    const [item, sizes, min, max, group] = rng.pick(CATALOG[food ? storageCondition : 'DAILY_GOODS']);
    const brand = rng.next() < 0.1 ? PRIVATE_BRAND : rng.pick<string>(BRANDS[group]);
    // Prices like ¥198, as shelves show them; ~1% not priced yet.
    const price = Math.max(8, Math.round(rng.int(min, max) / 10) * 10 - 2);
    return {
      productId: `P-${String(i + 1).padStart(6, '0')}`,
      sku: jan(1000 + MAKERS.indexOf(brand) * 37, i + 1),
      name: `${brand} ${item} ${rng.pick(sizes)}`,
      category,
      storageCondition,
      // Two lines on purpose: real descriptions carry newlines, and COPY must keep them.
      description: `${group}（${food ? '食品' : '日用品'}）\n保存方法: ${STORAGE_TEXT[storageCondition]}`,
      priceYen: rng.next() < 0.01 ? null : price,
    };
  });
}

// Seed 001 §3.1: ~50 supermarket chains, ~30 convenience chains, ~200 restaurants,
// ~150 other retailers. Chains deal as one account per company; restaurants are
// stores of groups (~4 per company); some retailers run two shops.
interface PartnerMix {
  type: CustomerType;
  weight: number;
  perCompany: number;
  names: readonly string[];
  suffixes: readonly string[];
}
const PARTNER_MIX: readonly PartnerMix[] = [
  {
    type: 'SUPERMARKET', weight: 50, perCompany: 1,
    names: ['さくら', 'みのり', 'あさひ', 'ひかり', 'わかば', 'やまと', 'はなまる', 'いずみ', 'たから', 'ふたば', 'なごみ', 'すずらん'],
    suffixes: ['ストア', 'マート', 'フーズ', 'スーパー', 'マーケット'],
  },
  {
    type: 'CONVENIENCE_STORE', weight: 30, perCompany: 1,
    names: ['ハッピー', 'サニー', 'スマイル', 'ホット', 'デイリー', 'ナイス', 'グッド', 'ファミー'],
    suffixes: ['24', 'ミニ', 'エクスプレス', 'ステーション'],
  },
  {
    type: 'RESTAURANT', weight: 200, perCompany: 4,
    names: ['こまち', 'だるま', '一心', 'つばめ', '木もれび', '炎', '潮', '龍門', '勝', '葵'],
    suffixes: ['亭', '屋', '食堂', 'ダイニング', 'キッチン'],
  },
  {
    type: 'RETAILER', weight: 150, perCompany: 1.25,
    names: ['田中', '鈴木', '佐藤', '高橋', '伊藤', '渡辺', '山本', '中村', '小林', '加藤', '吉田', '山田',
      '松本', '井上', '木村', '清水', '森', '池田', '橋本', '石川', '林', '山崎', '阿部', '前田'],
    suffixes: ['商店', '酒店', '雑貨店', '薬局', 'ストアー'],
  },
];
const AREAS = ['新宿', '渋谷', '池袋', '江東', '品川', '横浜', '川崎', '千葉', '大宮', '梅田', '難波', '天王寺', '神戸', '京都', '堺', '天神', '博多', '小倉', '熊本', '長崎'];

function generatePartners(rng: Random, count: number): { companies: Company[]; customers: Customer[] } {
  const companies: Company[] = [{ companyId: 'CO-0001', name: '株式会社D商事', companyType: 'OWN' }];
  const accounts: { type: CustomerType; companyId: string; name: string }[] = [];
  const perType = apportion(count, PARTNER_MIX.map((m) => m.weight));
  PARTNER_MIX.forEach((mix, t) => {
    const n = perType[t] ?? 0;
    const brands = uniqueNames(rng, mix.names, mix.suffixes, Math.ceil(n / mix.perCompany));
    const owners = brands.map((brand) => {
      const companyId = `CO-${String(companies.length + 1).padStart(4, '0')}`;
      const legal = mix.type === 'RETAILER' ? '有限会社' : '株式会社';
      companies.push({ companyId, name: `${legal}${brand}`, companyType: 'PARTNER' });
      return { companyId, brand, accounts: 0 };
    });
    // Every company gets one account first, so none is left without customers.
    const assigned = Array.from({ length: n }, (_, i) => owners[i < owners.length ? i : rng.int(0, owners.length - 1)]!);
    for (const o of assigned) o.accounts++;
    const used = new Set<string>();
    for (const o of assigned) {
      const area = rng.pick(AREAS);
      let name = o.accounts === 1 ? o.brand : `${o.brand} ${area}店`;
      for (let k = 2; used.has(name); k++) name = `${o.brand} ${area}${k}号店`;
      used.add(name);
      accounts.push({ type: mix.type, companyId: o.companyId, name });
    }
  });
  // Interleave the types so customer ids do not encode the type.
  const customers = rng.shuffle(accounts).map((a, i) => ({
    customerId: `C-${String(i + 1).padStart(4, '0')}`,
    companyId: a.companyId,
    name: a.name,
    customerType: a.type,
  }));
  return { companies, customers };
}

/** `k` distinct prefix+suffix names in random order, numbered once the combinations run out. */
function uniqueNames(rng: Random, prefixes: readonly string[], suffixes: readonly string[], k: number): string[] {
  const combos = rng.shuffle(prefixes.flatMap((p) => suffixes.map((s) => `${p}${s}`)));
  return Array.from({ length: k }, (_, i) => {
    const base = combos[i % combos.length]!;
    return i < combos.length ? base : `${base}${Math.floor(i / combos.length) + 1}`;
  });
}

/** Splits `total` into integer parts proportional to `weights`, summing exactly to `total` (largest remainder). */
function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  // Ties go to the earlier weight, so the result never depends on sort stability.
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) if (left-- > 0) parts[i]!++;
  return parts;
}

function repeat<T>(value: T, n: number): T[] {
  return Array.from({ length: n }, () => value);
}

/** A JAN-13 code: Japan prefix 49, 4-digit maker, 6-digit item, check digit. */
function jan(maker: number, item: number): string {
  const body = `49${String(maker).padStart(4, '0')}${String(item).padStart(6, '0')}`;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(body[i]) * (i % 2 === 0 ? 1 : 3);
  return `${body}${(10 - (sum % 10)) % 10}`;
}

export { loadMasterData, type LoadMasterDataResult, type MasterDataCounts } from './master-data-load.js';
