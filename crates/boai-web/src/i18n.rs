//! Simplified Chinese first, English second. Messages are keyed; a key
//! missing from the table is shown as itself so a gap is visible, not silent.
//! The language comes from the `boai_lang` cookie (`zh` or `en`).
//! Why a table and not Fluent: see docs/decisions/0003-i18n-table.md.

use axum::http::request::Parts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn from_parts(parts: &Parts) -> Lang {
        match crate::auth::cookie(parts, "boai_lang").as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// (key, 中文, English)
const MESSAGES: &[(&str, &str, &str)] = &[
    ("app.name", "博爱", "Boai"),
    (
        "app.tagline",
        "每一分钱可追溯, 每一个数字可对账, 每一条公开记录可验证",
        "Every fen traceable, every figure reconciles, every public record verifiable",
    ),
    ("nav.menu", "菜单", "Menu"),
    ("nav.dashboard", "工作台", "Dashboard"),
    ("nav.orgs", "组织", "Organisations"),
    ("nav.fundraising", "募捐", "Fundraising"),
    ("nav.funds", "资金", "Funds"),
    ("nav.transparency", "公开透明", "Transparency"),
    ("nav.relief", "人道救助", "Relief"),
    ("nav.registries", "三献", "Donor registries"),
    ("nav.training", "应急救护", "First-aid training"),
    ("nav.emergency", "应急救援", "Emergency response"),
    ("nav.volunteers", "志愿服务", "Volunteers"),
    ("nav.governance", "治理", "Governance"),
    ("nav.opendata", "数据共享", "Open data"),
    ("nav.system", "系统", "System"),
    ("nav.audit", "审计日志", "Audit trail"),
    ("nav.users", "用户", "Users"),
    ("nav.tokens", "API 令牌", "API tokens"),
    ("nav.privacy", "个人信息", "Personal data"),
    ("nav.soon", "建设中", "coming"),
    ("auth.login", "登录", "Sign in"),
    ("auth.logout", "退出", "Sign out"),
    ("auth.username", "用户名", "Username"),
    ("auth.password", "密码", "Password"),
    ("auth.bad_credentials", "用户名或密码错误", "Wrong username or password"),
    (
        "auth.locked",
        "登录失败次数过多, 账户已被暂时锁定, 请稍后再试",
        "Too many failed sign-ins: the account is locked for a while",
    ),
    (
        "auth.expired",
        "登录表单已过期, 请重试",
        "The sign-in form expired; please try again",
    ),
    ("common.search", "搜索", "Search"),
    ("common.export", "导出 Excel", "Export to Excel"),
    ("common.prev", "上一页", "Previous"),
    ("common.next", "下一页", "Next"),
    ("common.total", "共", "Total"),
    ("common.save", "保存", "Save"),
    ("common.create", "新建", "New"),
    ("common.none", "暂无记录", "Nothing here yet"),
    ("common.all", "全部", "All"),
    ("common.filter", "筛选", "Filter"),
    ("home.public", "公众服务", "For the public"),
    ("home.staff", "工作人员入口", "Staff sign-in"),
    ("orgs.tree", "组织树", "Organisation tree"),
    ("orgs.list", "组织列表", "Organisation list"),
    ("orgs.new", "新建组织", "New organisation"),
    ("orgs.name", "名称", "Name"),
    ("orgs.code", "代码", "Code"),
    ("orgs.level", "层级", "Level"),
    ("orgs.kind", "类型", "Kind"),
    ("orgs.parent", "上级组织", "Parent"),
    ("orgs.children", "下级组织", "Children"),
    ("orgs.by_district", "各区县基层组织数", "Grassroots units by district"),
    ("network.title", "基层组织网络", "Grassroots network"),
    ("network.units", "基层组织", "Grassroots units"),
    ("network.shortfalls", "五有未达标基层组织", "Units short of the five standards"),
    ("network.district", "所属区县", "Branch"),
    ("network.units_count", "基层组织数", "Units"),
    ("network.active", "正常运行", "Active"),
    ("network.passed", "五有达标", "Meeting the standard"),
    ("network.rate", "达标率", "Compliance"),
    ("network.rate_by_district", "各区县五有达标率", "Five-standards compliance by district"),
    ("network.by_kind", "基层组织类型", "Units by type"),
    ("network.shortfall_by_item", "未达标项目分布 (正常运行的组织)", "Items not met (active units)"),
    ("network.status", "状态", "Status"),
    ("network.credit_code", "统一社会信用代码", "Unified credit code"),
    ("network.score", "五有得分", "Score"),
    ("network.missing", "未达标项", "Items not met"),
    ("network.address", "地址", "Address"),
    ("network.phone", "联系电话", "Phone"),
    ("network.leader", "负责人", "Leader"),
    ("network.founded_on", "成立日期", "Founded"),
    ("network.wuyou", "五有评估", "Five-standards assessment"),
    ("network.pass_mark", "达标标准", "Pass mark"),
    ("network.met", "达到", "Met"),
    ("network.not_met", "未达到", "Not met"),
    ("network.not_assessed", "未评估", "Not assessed"),
    ("network.evidence", "佐证说明", "Evidence"),
    ("network.save_assessment", "保存评估", "Save assessment"),
    ("network.move", "划转到其他区县", "Move to another branch"),
    ("network.move_to", "目标区县", "Target branch"),
    ("network.moves", "划转记录", "Moves"),
    ("network.members", "会员", "Members"),
    ("network.members_soon", "会员与会费管理建设中", "Members and dues: coming"),
    ("network.import", "导入基层组织", "Import units"),
    ("network.template", "下载导入模板", "Download the template"),
    ("network.file", "文件 (.xlsx 或 .csv)", "File (.xlsx or .csv)"),
    ("network.mode", "导入方式", "Mode"),
    ("network.mode_all", "全部正确才导入", "All or nothing"),
    ("network.mode_valid", "只导入正确的行", "Import the valid rows"),
    ("network.report", "导入结果", "Import report"),
    ("network.row", "行号", "Row"),
    ("network.accepted", "接受", "Accepted"),
    ("network.rejected", "拒绝", "Rejected"),
    ("network.committed", "已写入", "Written"),
    ("network.not_committed", "未写入任何数据", "Nothing was written"),
    ("audit.title", "审计日志", "Audit trail"),
    ("audit.at", "时间", "Time"),
    ("audit.actor", "操作人", "Who"),
    ("audit.action", "操作", "Action"),
    ("audit.entity", "对象", "Record"),
    ("audit.ip", "来源地址", "From"),
    ("audit.change", "变更内容", "Change"),
    ("users.title", "用户", "Users"),
    ("users.role", "角色", "Role"),
    ("users.display_name", "姓名", "Name"),
    ("users.org", "所属组织", "Organisation"),
    ("tokens.title", "API 令牌", "API tokens"),
    ("tokens.new", "新建令牌", "New token"),
    ("tokens.revoke", "撤销", "Revoke"),
    (
        "tokens.shown_once",
        "请立即复制此令牌, 它只显示这一次",
        "Copy this token now: it is shown only once",
    ),
    (
        "module.soon",
        "该模块尚未上线, 正在建设中。",
        "This module is not built yet.",
    ),
    ("transparency.disclosures", "信息公开", "Disclosures"),
    ("transparency.deadlines", "公开期限", "Disclosure deadlines"),
    ("transparency.publish", "发布信息公开", "Publish a disclosure"),
    ("transparency.publish_short", "发布", "Publish"),
    (
        "transparency.intro",
        "依法公开募捐项目公告、进展报告, 以及年度工作报告、财务报告和审计报告, 接受社会监督。",
        "Announcements and progress reports of every fundraising project, yearly work and finance reports and audit reports, published as the law requires.",
    ),
    ("transparency.kind", "类型", "Kind"),
    ("transparency.title", "标题", "Title"),
    ("transparency.project", "项目", "Project"),
    ("transparency.org", "发布单位", "Published by"),
    ("transparency.file", "附件", "Attachment"),
    ("transparency.published_on", "公开日期", "Published on"),
    ("transparency.body", "正文", "Text"),
    ("transparency.back", "返回列表", "Back to the list"),
    ("transparency.download", "下载附件", "Download the attachment"),
    (
        "transparency.project_hint",
        "项目公告和进展报告必选",
        "required for announcements and progress reports",
    ),
    ("transparency.society_wide", "全会 (不限项目)", "Society-wide (no project)"),
    (
        "transparency.file_hint",
        "PDF、Excel、Word 或图片, 不超过 10 MB",
        "PDF, Excel, Word or an image, up to 10 MB",
    ),
    ("transparency.file_again", "请重新选择附件", "Please choose the file again"),
    ("transparency.projects", "项目数", "Projects"),
    ("transparency.overdue_projects", "逾期项目", "Overdue"),
    ("transparency.status", "状态", "Status"),
    ("transparency.last", "最近公开", "Last disclosed"),
    ("transparency.basis", "公开要求", "Requirement"),
    ("transparency.due", "截止日期", "Due by"),
    ("transparency.state", "情况", "State"),
    ("transparency.overdue", "已逾期", "Overdue by"),
    ("transparency.days", "天", "days"),
    ("transparency.days_left", "剩余", "Due in"),
    ("transparency.done", "已完成", "Done"),
    ("transparency.code", "项目代码", "Code"),
    ("transparency.overdue_days", "逾期天数", "Days overdue"),
    ("portal.title", "公开透明", "Transparency"),
    (
        "portal.intro",
        "每一笔收入、分配、拨付和物资进出都写入公开账本; 下面公布的各项目数字与账本记录之和逐项核对。",
        "Every receipt, allocation, payment and goods movement is written to the public ledger; the figures below are checked against the sums of its entries.",
    ),
    ("portal.all_ok", "各项目公布数与账本合计全部一致", "Every project's figures equal the ledger's sums"),
    ("portal.not_all_ok", "有项目的公布数与账本合计不一致", "Some figures differ from the ledger's sums"),
    ("portal.entries", "公布数对应的账本条数", "Ledger entries the figures cover"),
    ("portal.by_project", "各项目收支", "Money by project"),
    (
        "portal.by_project_hint",
        "✓ 表示公布数 (账簿的累计数) 等于账本前若干条记录之和; 条数:",
        "✓ means the published figure (the books' running total) equals the sum of the ledger's entries; entries:",
    ),
    ("portal.received", "收到", "Received"),
    ("portal.allocated", "分配", "Allocated"),
    ("portal.spent", "支出", "Spent"),
    ("portal.refunded", "退款", "Refunded"),
    ("portal.check", "核对", "Check"),
    ("portal.equal", "与账本合计一致", "equals the ledger's sum"),
    ("portal.differs", "与账本合计不一致", "differs from the ledger's sum"),
    ("portal.ledger_says", "账本合计:", "ledger sum:"),
    ("portal.monthly", "近 12 个月每月收支", "Received and spent, last 12 months"),
    (
        "portal.monthly_hint",
        "收到 = 货币捐赠减退款; 支出 = 拨付给受助方的资金 (不含基金之间的划转)。按北京时间计月。",
        "Received = money gifts less refunds; spent = money paid out to recipients (moves between funds excluded). Months in China time.",
    ),
    ("portal.month", "月份", "Month"),
    ("portal.yuan", "元", "yuan"),
    ("portal.goods", "物资收发 (按价值)", "Goods received and dispatched (by value)"),
    ("portal.goods_in", "接收物资", "Goods received"),
    ("portal.goods_out", "发放物资", "Goods dispatched"),
    ("portal.goods_left", "尚未发放", "Not yet dispatched"),
    ("portal.no_goods", "暂无物资记录", "No goods recorded yet"),
    ("portal.checkpoint", "最新签名检查点", "Newest signed checkpoint"),
    ("portal.size", "条目数", "Entries"),
    ("portal.root", "根哈希", "Root hash"),
    ("portal.signed_at", "签名时间", "Signed at"),
    ("portal.link_checkpoint", "签名检查点 (C2SP)", "signed checkpoint (C2SP)"),
    ("portal.link_key", "验证公钥", "verifier key"),
    ("portal.link_totals", "各项目公布数 (JSON)", "published totals (JSON)"),
    ("portal.find", "查询我的捐赠", "Find my gift"),
    (
        "portal.find_intro",
        "输入捐赠证书编号, 再填写捐赠人姓名或预留手机号后 4 位之一; 匿名捐赠请填写捐赠金额 (元)。",
        "Enter the certificate number plus the donor's name or the last 4 digits of their phone; for an anonymous gift, the amount in yuan.",
    ),
    ("portal.cert", "证书编号", "Certificate number"),
    ("portal.second", "再填写以下任意一项", "And one of these"),
    ("portal.donor_name", "捐赠人姓名", "Donor's name"),
    ("portal.phone4", "手机号后 4 位", "Last 4 digits of the phone"),
    ("portal.amount", "捐赠金额 (元, 匿名捐赠)", "Amount in yuan (anonymous gifts)"),
    ("portal.look_up", "查询", "Look up"),
    ("portal.not_found", "未找到匹配的捐赠记录", "No matching gift was found"),
    (
        "portal.too_many_guesses",
        "该证书编号的查询错误次数过多, 已暂停查询, 请一小时后再试",
        "Too many wrong details were tried for this certificate number; look-ups of it are paused, try again in an hour",
    ),
    (
        "portal.opening_needs_name",
        "按手机号后 4 位查到的捐赠不显示捐赠人全名和承诺的盐; 用捐赠人姓名查询, 即可在此打开承诺核验",
        "Found by the phone's last digits: the donor's full name and the commitment's salt are not shown; look it up with the donor's name to open the commitment here",
    ),
    ("portal.your_gift", "您的捐赠", "Your gift"),
    ("portal.date", "日期", "Date"),
    ("portal.amount_label", "金额", "Amount"),
    ("portal.public_name", "公开署名", "Public name"),
    ("portal.channel", "捐赠方式", "Channel"),
    ("portal.ledger_index", "账本序号", "Ledger index"),
    ("portal.where", "资金去向", "Where the money went"),
    ("portal.not_yet_spent", "尚未使用", "Not yet spent"),
    ("portal.proof_of", "证明", "proof"),
    (
        "portal.trace_rule",
        "按先进先出规则从公开账本计算: 同一基金内, 流出的钱依次算作最早流入的钱; 分配到其他项目的钱随之追踪。",
        "Computed from the public ledger, first in, first out: within a fund, money leaving is attributed to the earliest money in; money allocated to another project is followed there.",
    ),
    ("portal.more", "规则详解", "The rule in full"),
    ("portal.entry", "账本条目", "The ledger entry"),
    (
        "portal.entry_hint",
        "这是公开账本中这笔捐赠的原始记录 (规范 JSON), 其哈希就是下面证明中的叶子。",
        "The gift's record in the public ledger (canonical JSON); its hash is the leaf in the proof below.",
    ),
    ("portal.opening", "承诺的打开方式", "Opening the commitment"),
    ("portal.salt", "盐", "Salt"),
    ("portal.formula", "计算公式", "Formula"),
    ("portal.hex", "取小写十六进制", "as lowercase hex"),
    ("portal.anonymous_empty", "(匿名捐赠: 空)", "(anonymous: empty)"),
    ("portal.equal_entry", "与账本条目一致", "equals the entry's"),
    ("portal.differs_entry", "与账本条目不一致", "differs from the entry's"),
    (
        "portal.salt_erased",
        "捐赠人的个人信息已按其请求删除, 承诺无法再与姓名对应; 金额与去向不变",
        "the donor's personal data was erased at their request: the commitment can no longer be opened to a name; amount and flows unchanged",
    ),
    ("portal.proof", "包含证明", "Inclusion proof"),
    ("portal.leaf", "叶子哈希", "Leaf hash"),
    ("portal.path", "审计路径", "Audit path"),
    ("portal.key", "验证公钥", "Verifier key"),
    ("portal.browser_check", "在您的浏览器中核验", "Checked in your browser"),
    ("portal.needs_js", "正在核验… (需要启用 JavaScript)", "Checking… (needs JavaScript)"),
    ("portal.what_proven", "这证明了什么", "What this proves"),
    ("portal.verify", "如何自行核验", "Check the ledger yourself"),
    (
        "portal.verify_intro",
        "不必相信我们: 公开账本的每一条记录、每一个数字都可以由任何人独立核验。",
        "You need not trust us: anyone can check every entry and every figure of the public ledger independently.",
    ),
    ("portal.v_log", "公开账本是什么", "What the log is"),
    ("portal.v_checkpoint", "检查点与公钥", "The checkpoint and the key"),
    ("portal.v_tiles", "哈希瓦片与条目包", "Tiles and entry bundles"),
    ("portal.v_proofs", "哈希与包含证明", "Hashes and inclusion proofs"),
    ("portal.v_commitments", "承诺", "Commitments"),
    ("portal.v_boai", "用 boai verify 核验", "With boai verify"),
    ("portal.v_go", "用 Go 独立核验", "With Go"),
];

/// The message for `key` in `lang`.
pub fn t(lang: Lang, key: &str) -> &str {
    MESSAGES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| match lang {
            Lang::Zh => *zh,
            Lang::En => *en,
        })
        .unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for (key, zh, en) in MESSAGES {
            assert!(seen.insert(*key), "duplicate key {key}");
            assert!(!zh.is_empty() && !en.is_empty(), "{key}");
        }
        assert_eq!(t(Lang::Zh, "nav.orgs"), "组织");
        assert_eq!(t(Lang::En, "nav.orgs"), "Organisations");
    }
}
