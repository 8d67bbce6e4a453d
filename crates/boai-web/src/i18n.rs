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
