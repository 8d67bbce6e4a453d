//! Writes the seed corpus of the fuzz targets in `fuzz/` from real formats:
//! the unit and member import templates (CSV in UTF-8, UTF-8 with BOM and GBK,
//! and .xlsx), bank statements in both built-in layouts, signed-notification
//! inputs, valid identity numbers, canonical ledger entries and bundles, tile
//! paths. Nothing binary is committed; `scripts/fuzz.sh` runs this first:
//! `cargo run --example fuzz_seeds -- fuzz/corpus`.

use boai_domain::validation::identity::{credit_code_check_char, id_card_check_char};
use boai_ledger::tiles::encode_bundle;
use boai_ledger::{LedgerEntry, TilePath};
use rust_xlsxwriter::{Format, Workbook};
use std::error::Error;
use std::path::Path;

type Table = Vec<Vec<&'static str>>;

fn csv(table: &Table) -> String {
    table
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| {
                    if c.contains([',', '"', '\n']) {
                        format!("\"{}\"", c.replace('"', "\"\""))
                    } else {
                        (*c).to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

fn xlsx(table: &Table, formula: bool, merged: bool) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (r, row) in table.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (u32::try_from(r)?, u16::try_from(c)?);
            match cell.parse::<f64>() {
                Ok(n) if !cell.starts_with('0') && cell.len() < 15 => ws.write_number(r, c, n)?,
                _ => ws.write_string(r, c, *cell)?,
            };
        }
    }
    let below = u32::try_from(table.len())?;
    if formula {
        ws.write_formula(below, 0, "=1+1")?;
    }
    if merged {
        ws.merge_range(below + 1, 0, below + 1, 2, "合并", &Format::new())?;
    }
    Ok(book.save_to_buffer()?)
}

fn write_table(dir: &Path, name: &str, table: &Table) -> Result<(), Box<dyn Error>> {
    let text = csv(table);
    std::fs::write(dir.join(format!("{name}.csv")), &text)?;
    std::fs::write(dir.join(format!("{name}-bom.csv")), format!("\u{feff}{text}"))?;
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    std::fs::write(dir.join(format!("{name}-gbk.csv")), &gbk)?;
    std::fs::write(dir.join(format!("{name}.xlsx")), xlsx(table, false, false)?)?;
    Ok(())
}

fn id_card(first17: &str) -> String {
    format!("{first17}{}", id_card_check_char(first17).unwrap_or('0'))
}

fn credit_code(first17: &str) -> String {
    format!("{first17}{}", credit_code_check_char(first17).unwrap_or('0'))
}

fn entry(kind: &str, amount_fen: i64, seq: i64) -> LedgerEntry {
    LedgerEntry {
        v: 1,
        kind: kind.to_owned(),
        amount_fen,
        project_id: "0190a7c4-0000-7000-8000-000000000001".to_owned(),
        from_project_id: (kind == "allocation").then(|| "0190a7c4-0000-7000-8000-000000000002".to_owned()),
        journal_id: format!("0190a7c4-0000-7000-8000-{seq:012}"),
        journal_seq: seq,
        at: "2026-03-01T08:00:00Z".to_owned(),
        donor: (kind == "gift").then(|| "张*".to_owned()),
        commitment: (kind == "gift").then(|| boai_ledger::commitment("JN2026000001", "张三", "00ff")),
        recipient: (kind == "disbursement").then(|| "受助人 7f3a".to_owned()),
        reverses: (kind == "reversal").then(|| "0190a7c4-0000-7000-8000-000000000001".to_owned()),
        reverses_kind: (kind == "reversal").then(|| "gift".to_owned()),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "fuzz/corpus".to_owned());
    let out = Path::new(&out);
    let dir = |name: &str| -> Result<std::path::PathBuf, Box<dyn Error>> {
        let d = out.join(name);
        std::fs::create_dir_all(&d)?;
        Ok(d)
    };

    // Imports: the two templates as staff fill them in.
    let d = dir("import_table")?;
    let id1 = id_card("11010519491231002");
    let code1 = credit_code("91370102MA3C7RXX0");
    let id1: &'static str = Box::leak(id1.into_boxed_str());
    let code1: &'static str = Box::leak(code1.into_boxed_str());
    let mut units: Table = vec![boai_domain::network::IMPORT_COLUMNS.iter().map(|(_, zh)| *zh).collect()];
    units.push(vec![
        "示例社区红十字服务站",
        "JN-LX",
        "社区",
        code1,
        "历下区示例路 1 号",
        "0531-86000000",
        "张三",
        "2020-05-08",
        "正常",
    ]);
    units.push(vec!["历下学校", "JN-LX", "学校", "", "", "13800138000", "", "", ""]);
    units.push(vec!["=HYPERLINK(\"x\")", "JN-SZ", "企业", "", "", "", "", "", ""]);
    write_table(&d, "units", &units)?;
    std::fs::write(d.join("units-formula.xlsx"), xlsx(&units, true, false)?)?;
    std::fs::write(d.join("units-merged.xlsx"), xlsx(&units, false, true)?)?;
    let mut members: Table = vec![boai_domain::members::IMPORT_COLUMNS.iter().map(|(_, zh)| *zh).collect()];
    members.push(vec![
        "张三",
        "JN-LX-001",
        "普通会员",
        id1,
        "",
        "13800138000",
        "2024-03-01",
    ]);
    members.push(vec![
        "示例公司",
        "JN-LX-004",
        "团体会员",
        "",
        code1,
        "0531-86000000",
        "2024-03-01",
    ]);
    members.push(vec!["李四", "JN-LX-002", "youth", "", "", "", ""]);
    write_table(&d, "members", &members)?;

    // Bank statements in both built-in layouts.
    let d = dir("bank_statement")?;
    let debit_credit: Table = vec![
        vec![
            "交易日期",
            "借方发生额",
            "贷方发生额",
            "余额",
            "对方户名",
            "对方账号",
            "摘要",
            "交易流水号",
        ],
        vec![
            "2026-03-01",
            "",
            "1,000.00",
            "51,000.00",
            "张三",
            "6222000000000001",
            "捐赠 JN2026000001",
            "B20260301001",
        ],
        vec![
            "2026/3/2",
            "200.50",
            "",
            "50,799.50",
            "济南印刷厂",
            "",
            "宣传册",
            "B20260302001",
        ],
        vec![
            "20260303",
            "0",
            "88",
            "50,887.50",
            "李四",
            "",
            "附言 爱心",
            "B20260303001",
        ],
    ];
    write_table(&d, "debit-credit", &debit_credit)?;
    let signed: Table = vec![
        vec!["记账日期", "交易金额", "对方户名", "附言", "流水号"],
        vec!["2026年3月1日", "+500.00", "王五", "捐款", "S001"],
        vec!["2026-03-02 10:30:00", "-20", "银行", "手续费", "S002"],
        vec!["2026.03.03", "12345.6", "济南某公司", "JN2026000002", "S003"],
    ];
    write_table(&d, "signed", &signed)?;

    // Notifications: timestamp, nonce, body.
    let d = dir("payment_notification")?;
    let pay = r#"{"id":"EV-0001","event_type":"TRANSACTION.SUCCESS","resource":{"out_trade_no":"GO2026030100001","transaction_id":"4200000001","trade_state":"SUCCESS","amount":{"total":10000,"currency":"CNY"}}}"#;
    let refund = r#"{"id":"EV-0002","event_type":"REFUND.SUCCESS","resource":{"out_trade_no":"GO2026030100001","transaction_id":"4200000001","out_refund_no":"RF1","refund_status":"SUCCESS","amount":{"total":10000,"refund":2500,"currency":"CNY"}}}"#;
    std::fs::write(d.join("payment"), format!("1780000000\n5K8264ILTKCH16CQ\n{pay}"))?;
    std::fs::write(d.join("refund"), format!("1780000100\nnonce\n{refund}"))?;
    std::fs::write(d.join("stale"), format!("1700000000\nn\n{pay}"))?;

    // Identity numbers.
    let d = dir("identity")?;
    for (i, s) in [
        id1.to_owned(),
        id_card("37010219800101123"),
        code1.to_owned(),
        credit_code("12370000MB0000001"),
        "13800138000".to_owned(),
        "+86 138-0013-8000".to_owned(),
        "8613912345678".to_owned(),
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(d.join(format!("seed-{i}")), s)?;
    }

    // Ledger entries (canonical) and a bundle of them.
    let d = dir("ledger_entry")?;
    let kinds = [
        "gift",
        "allocation",
        "disbursement",
        "reversal",
        "goods_in",
        "goods_out",
        "transfer",
    ];
    let mut canon = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let bytes = entry(kind, 123_456 + i as i64, i as i64 + 1).to_canonical()?;
        std::fs::write(d.join(format!("{kind}.json")), &bytes)?;
        canon.push(bytes);
    }
    std::fs::write(d.join("bundle"), encode_bundle(canon.iter().map(Vec::as_slice))?)?;

    // Tile paths of a tree of 70,000 leaves (full and partial, both kinds).
    let d = dir("tile_path")?;
    for (i, t) in TilePath::all_for(70_000)
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 37 == 0 || *i > 540)
    {
        std::fs::write(d.join(format!("tile-{i}")), t.path())?;
    }
    std::fs::write(d.join("big"), "tile/0/x001/x234/067.p/5")?;

    println!("seed corpus written to {}", out.display());
    Ok(())
}
