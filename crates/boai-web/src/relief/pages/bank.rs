//! The bank's payment file: the approved, unpaid cases as a spreadsheet.

use super::*;
use crate::query::PageQuery;

#[derive(Debug, Deserialize)]
pub struct PaymentFileQuery {
    programme_id: Option<uuid::Uuid>,
}

/// `/relief/payments.xlsx`: approved cases waiting for payment, for the bank.
pub async fn payment_file(
    user: PageUser<ManageFunds>,
    PageQuery(q): PageQuery<PaymentFileQuery>,
) -> Result<Response, PageError> {
    let list = user.store.relief_payable(q.programme_id.map(ProgrammeId)).await?;
    let sheet = Sheet {
        name: "救助款拨付".to_owned(),
        columns: [
            "案件号",
            "救助项目",
            "收款方",
            "开户银行",
            "银行账号",
            "金额 (元)",
            "批准时间",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        rows: list
            .iter()
            .map(|p| {
                vec![
                    Cell::Text(p.case.case_no.clone()),
                    Cell::Text(p.programme.clone()),
                    Cell::Text(p.payee.clone()),
                    p.bank_name.clone().map_or(Cell::Empty, Cell::Text),
                    p.bank_account.clone().map_or(Cell::Empty, Cell::Text),
                    Cell::Fen(p.case.amount.0),
                    p.case.decided_at.map_or(Cell::Empty, Cell::DateTime),
                ]
            })
            .collect(),
    };
    Ok(xlsx_download("relief-payments", &sheet)?)
}
