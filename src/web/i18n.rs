//! The front desk's words, in one place per language (spec §9: Chinese first,
//! with an English switch). Templates and page handlers ask for a text by key;
//! a key missing from [`TEXTS`] shows as the key itself, and the unit test
//! below fails for any key the templates use that is not listed.

/// The language of a page: Chinese unless the visitor chose English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// The cookie that remembers the visitor's choice (a year).
pub const LANG_COOKIE: &str = "dangan_lang";

impl Lang {
    /// `zh` or `en` (a cookie value); anything else is Chinese.
    pub fn parse(raw: Option<&str>) -> Lang {
        match raw {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language, offered by the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The text of `key`, if it is listed.
    pub fn t_opt(self, key: &str) -> Option<&'static str> {
        let i = TEXTS.binary_search_by(|(k, _, _)| (*k).cmp(key)).ok()?;
        Some(match self {
            Lang::Zh => TEXTS[i].1,
            Lang::En => TEXTS[i].2,
        })
    }

    /// The text of `key` in this language.
    pub fn t(self, key: &str) -> &'static str {
        match TEXTS.binary_search_by(|(k, _, _)| (*k).cmp(key)) {
            Ok(i) => match self {
                Lang::Zh => TEXTS[i].1,
                Lang::En => TEXTS[i].2,
            },
            Err(_) => {
                tracing::warn!(key, "front-desk text missing");
                "?"
            }
        }
    }
}

/// `(key, Chinese, English)`, sorted by key (the unit test checks).
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("access.days", "期限（天）", "Duration (days)"),
    (
        "access.document",
        "档号或文档编号",
        "Archive number or document id",
    ),
    (
        "access.empty",
        "您还没有提出调阅申请。",
        "You have not asked for access yet.",
    ),
    (
        "access.intro",
        "需要查看本店以外或超出您密级的档案时，在此申请调阅；主管批准后在期限内可查看。",
        "To see a document of another branch or above your clearance, ask here; once a supervisor approves, you may read it for the days granted.",
    ),
    (
        "access.or_vin",
        "或整车档案（车架号）",
        "or a whole vehicle (VIN)",
    ),
    ("access.purpose", "用途", "Purpose"),
    (
        "access.sent",
        "调阅申请已提交，等待主管审批。",
        "Your request was sent; a supervisor will decide it.",
    ),
    ("access.submit", "提交申请", "Send request"),
    ("access.title", "调阅申请", "Access requests"),
    ("approvals.approve", "批准", "Approve"),
    ("approvals.decided_by", "批准人", "Approved by"),
    (
        "approvals.done.approve",
        "已批准，申请人现在可以调阅。",
        "Approved: the requester can now read it.",
    ),
    (
        "approvals.done.reject",
        "已驳回，申请人会看到您的意见。",
        "Rejected: the requester sees your note.",
    ),
    (
        "approvals.done.revoke",
        "授权已撤销，立即生效。",
        "The grant is revoked, from now on.",
    ),
    (
        "approvals.none_pending",
        "没有待审批的调阅申请。",
        "No access request is waiting for you.",
    ),
    (
        "approvals.none_running",
        "没有生效中的授权。",
        "No grant is running.",
    ),
    ("approvals.note", "审批意见（可选）", "Note (optional)"),
    ("approvals.pending", "待审批", "Waiting for a decision"),
    ("approvals.reject", "驳回", "Reject"),
    ("approvals.requester", "申请人", "Requester"),
    ("approvals.revoke", "撤销授权", "Revoke"),
    ("approvals.running", "生效中的授权", "Running grants"),
    ("approvals.title", "调阅审批", "Access approvals"),
    ("audit.action", "操作", "Action"),
    ("audit.any", "全部", "Any"),
    ("audit.apply", "筛选", "Filter"),
    ("audit.clear", "清除条件", "Clear"),
    ("audit.details", "记录详情", "Record"),
    ("audit.document", "档号或文档", "Archive no. or document"),
    (
        "audit.empty",
        "没有符合条件的记录。请放宽筛选条件（例如去掉日期或操作）。",
        "No record matches. Widen the filter (drop the dates or the action, for example).",
    ),
    ("audit.export", "导出 CSV", "Export CSV"),
    ("audit.filter", "筛选条件", "Filter"),
    ("audit.first", "第一页", "First page"),
    ("audit.from", "起始日期", "From (day)"),
    ("audit.outcome", "结果", "Outcome"),
    ("audit.outcome.allowed", "允许", "Allowed"),
    ("audit.outcome.denied", "拒绝", "Denied"),
    ("audit.outcome.error", "出错", "Error"),
    ("audit.pages", "翻页", "Pages"),
    ("audit.time", "时间", "Time"),
    ("audit.title", "调阅日志", "Retrieval log"),
    ("audit.to", "截止日期", "To (day)"),
    ("audit.user", "用户", "User"),
    (
        "audit.zone",
        "日期与时间按档案所在时区 {} 计。",
        "Days and times are in the archive's time zone, {}.",
    ),
    ("category", "类别", "Category"),
    ("confidentiality", "密级", "Confidentiality"),
    (
        "correct.changes",
        "要更正的字段（留空表示不改）",
        "Fields to correct (leave empty to keep)",
    ),
    (
        "correct.done",
        "元数据已更正。",
        "The metadata was corrected.",
    ),
    ("correct.submit", "保存更正", "Save correction"),
    ("correct.title", "更正元数据", "Correct metadata"),
    ("customer", "客户", "Customer"),
    ("customer.id_number", "证件号码", "ID number"),
    ("customer.name", "客户姓名", "Customer name"),
    ("customer.phone", "客户电话", "Customer phone"),
    ("disposal.status.executed", "已销毁", "Destroyed"),
    ("disposal.status.proposed", "待审批", "Awaiting approval"),
    ("disposal.status.rejected", "已驳回", "Turned down"),
    ("disposals.approve", "批准并执行销毁", "Approve and destroy"),
    (
        "disposals.approve_hint",
        "批准后立即执行：内容不可恢复地销毁，只保留销毁清册。",
        "Approval executes at once: the content is destroyed irrecoverably, only the register entry stays.",
    ),
    ("disposals.batch", "销毁批次", "Disposal batch"),
    ("disposals.certificate", "销毁证明", "Certificate"),
    ("disposals.decided_by", "审批人", "Decided by"),
    (
        "disposals.intro",
        "销毁须两人监销：由档案管理员提出，另一名部门负责人批准。",
        "Disposal takes two people: a clerk proposes, another person, a supervisor, approves.",
    ),
    ("disposals.lines", "批次中的档案", "Records in the batch"),
    (
        "disposals.none_decided",
        "销毁清册中还没有记录。",
        "The register holds no entry yet.",
    ),
    (
        "disposals.none_proposed",
        "没有待审批的销毁批次。",
        "No batch is awaiting approval.",
    ),
    ("disposals.proposed", "待审批的批次", "Awaiting approval"),
    ("disposals.proposed_by", "提出人", "Proposed by"),
    ("disposals.register", "销毁清册", "Disposal register"),
    (
        "disposals.second_person",
        "该批次须由提出人以外的部门负责人审批。",
        "A supervisor other than the proposer decides this batch.",
    ),
    ("disposals.title", "销毁", "Disposal"),
    ("doc.archive_no", "档号", "Archive number"),
    ("doc.corrections", "更正记录", "Corrections"),
    ("doc.download", "下载", "Download"),
    ("doc.filed", "归档", "Filed"),
    ("doc.filed_by", "归档人", "Filed by"),
    ("doc.legal_hold", "法律保全", "Legal hold"),
    ("doc.no_corrections", "没有更正。", "No corrections."),
    (
        "doc.no_preview",
        "此文件类型不能在线预览，请下载查看。",
        "This type of file cannot be previewed; download it to read it.",
    ),
    ("doc.preview", "预览", "Preview"),
    (
        "doc.preview_failed",
        "预览失败，请下载查看。",
        "The preview failed; download the file to read it.",
    ),
    (
        "doc.preview_loading",
        "正在加载预览…",
        "Loading the preview…",
    ),
    ("doc.reason", "原因", "Reason"),
    ("doc.retention_until", "保管期限至", "Retained until"),
    ("doc.text", "全文检索", "Text search"),
    ("doc.text_indexed", "已建立全文索引", "Text is searchable"),
    (
        "doc.text_not_indexed",
        "未建立全文索引",
        "Text is not searchable",
    ),
    ("doc.version", "版本", "Version"),
    ("doc.versions", "版本", "Versions"),
    ("err.back", "返回", "Go back"),
    (
        "err.csrf",
        "表单已过期或来自其他网站。请刷新页面后重试。",
        "This form has expired or came from another site. Reload the page and try again.",
    ),
    (
        "err.days",
        "期限应为 1 到最长允许的天数。",
        "The duration must be from 1 day to the longest allowed.",
    ),
    (
        "err.empty_file",
        "文件是空的，请选择有内容的文件。",
        "The file is empty; choose a file with content.",
    ),
    ("err.field", "字段", "Field"),
    (
        "err.forbidden",
        "您的角色或权限不允许此操作。",
        "Your roles do not allow this.",
    ),
    (
        "err.internal",
        "服务器出错了。请稍后重试；如仍失败，请把请求编号告知管理员。",
        "Something went wrong on the server. Try again later; if it keeps failing, give the administrator the request id.",
    ),
    (
        "err.invalid",
        "有内容填写不正确，请修改后重试。",
        "Something you entered is not valid; correct it and try again.",
    ),
    (
        "err.legal_hold",
        "该档案处于法律保全中：保全解除前不能销毁。",
        "The record is on legal hold: it cannot be disposed of until the hold is lifted.",
    ),
    (
        "err.locked",
        "登录失败次数过多，请稍后再试。",
        "Too many failed logins; try again later.",
    ),
    (
        "err.login",
        "用户名或密码错误，或账户已停用。",
        "Wrong user name or password, or the account is disabled.",
    ),
    (
        "err.not_found",
        "没有找到，或您无权查看。",
        "Not found, or not visible to you.",
    ),
    (
        "err.nothing",
        "没有任何字段被修改。",
        "No field was changed.",
    ),
    (
        "err.own_account",
        "不能修改自己的角色，也不能停用自己的账号（三员分立）：请由另一名系统管理员修改。",
        "Nobody changes their own roles or disables their own account (separation of duties): another administrator must.",
    ),
    (
        "err.purpose",
        "请写明调阅用途。",
        "Say what the access is for.",
    ),
    (
        "err.reason",
        "请写明原因（1 到 1000 个字）。",
        "Give a reason (1 to 1000 characters).",
    ),
    ("err.request_id", "请求编号", "Request id"),
    (
        "err.roles",
        "角色组合不被允许：系统管理员角色只能单独持有（三员分立），且至少选择一个角色。",
        "That set of roles is not allowed: the administrator role is held alone (separation of duties), and at least one role is needed.",
    ),
    ("err.title", "无法完成", "Could not complete"),
    (
        "err.too_large",
        "文件或内容超过允许的大小。",
        "The file or text is larger than allowed.",
    ),
    (
        "err.unavailable",
        "系统暂时繁忙或存储不可用，请稍后重试。",
        "The system is busy or its storage is unavailable; try again shortly.",
    ),
    (
        "err.user_exists",
        "该用户名已被使用（不区分大小写）。",
        "That username is taken (in any letter case).",
    ),
    (
        "err.weak_password",
        "密码太弱：至少 12 个字符。",
        "The password is too weak: at least 12 characters.",
    ),
    ("file.add", "选择文件", "Choose files"),
    (
        "file.category_hint",
        "必填字段随类别变化；默认密级：",
        "Required fields depend on the category; default level:",
    ),
    ("file.done", "已归档", "Filed"),
    (
        "file.drop",
        "把文件拖到这里，或点击选择（可多选，每个文件归为一份档案）",
        "Drop files here, or click to choose (several at once: each file is filed as one document)",
    ),
    ("file.failed", "未归档", "Not filed"),
    (
        "file.intro",
        "填写元数据，然后选择或拖入文件。每个文件各得一个档号。",
        "Fill in the metadata, then choose or drop files. Each file gets its own archive number.",
    ),
    ("file.level_default", "按类别默认", "Category default"),
    ("file.required", "必填", "required"),
    ("file.submit", "归档", "File"),
    ("file.title", "文件归档", "File documents"),
    ("file.uploading", "上传中", "Uploading"),
    ("holds.by", "设置人", "Set by"),
    ("holds.done", "已保存。", "Saved."),
    (
        "holds.empty",
        "没有处于法律保全中的档案。",
        "No document is on legal hold.",
    ),
    ("holds.held", "法律保全中的档案", "Documents on hold"),
    (
        "holds.intro",
        "法律保全（诉讼、调查）期间，档案无论保管期限如何都不能销毁。",
        "While on legal hold (a lawsuit, an inquiry) a record cannot be disposed of, whatever its retention says.",
    ),
    ("holds.lift", "解除保全", "Lift"),
    ("holds.lift_reason", "解除原因", "Reason for lifting"),
    ("holds.reason", "保全原因", "Reason"),
    ("holds.set", "设置保全", "Set the hold"),
    ("holds.title", "法律保全", "Legal holds"),
    ("home.me", "我的账户", "My account"),
    ("home.roles", "角色", "Roles"),
    ("level.confidential", "商业秘密", "Confidential"),
    ("level.internal", "内部", "Internal"),
    ("level.public", "公开", "Public"),
    ("level.restricted", "核心商业秘密", "Restricted"),
    (
        "login.expired",
        "会话已结束，请重新登录。",
        "Your session has ended; please log in again.",
    ),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    ("login.title", "登录", "Log in"),
    ("login.username", "用户名", "User name"),
    ("meta.branch", "门店", "Branch"),
    ("meta.summary", "摘要", "Summary"),
    ("meta.tags", "标签（用分号分隔）", "Tags (separated by ;)"),
    ("meta.title", "标题", "Title"),
    (
        "meta.transcript",
        "文字记录（扫描件的文字）",
        "Transcript (the text of a scan)",
    ),
    ("nav.approvals", "审批", "Approvals"),
    ("nav.audit", "日志", "Log"),
    ("nav.disposals", "销毁", "Disposal"),
    ("nav.file", "归档", "File"),
    ("nav.holds", "保全", "Holds"),
    ("nav.logout", "退出", "Log out"),
    ("nav.main", "主导航", "Main navigation"),
    ("nav.requests", "调阅", "Access"),
    ("nav.retention", "到期", "Due"),
    ("nav.search", "检索", "Search"),
    ("nav.stats", "统计", "Statistics"),
    ("nav.system", "系统", "System"),
    ("nav.users", "用户", "Users"),
    ("product", "档案系统", "dangan archive"),
    ("request.expires", "到期", "Expires"),
    ("request.note", "审批意见", "Note"),
    ("request.status", "状态", "Status"),
    ("request.status.approved", "已批准", "Approved"),
    ("request.status.pending", "待审批", "Pending"),
    ("request.status.rejected", "已驳回", "Rejected"),
    ("request.status.revoked", "已撤销", "Revoked"),
    ("request.target", "调阅对象", "Asked for"),
    ("request.time", "申请时间", "Asked at"),
    (
        "retention.empty",
        "没有超过保管期限的档案。",
        "No record is past its retention period.",
    ),
    ("retention.include", "纳入销毁", "Include"),
    (
        "retention.intro",
        "以下档案已超过保管期限且未被冻结。勾选后提出销毁，须由另一人审批。",
        "These records are past retention and not on hold. Tick them and propose their disposal; another person approves.",
    ),
    ("retention.propose", "提出销毁", "Propose disposal"),
    ("retention.reason", "销毁理由", "Reason"),
    ("retention.title", "到期档案", "Records past retention"),
    ("retention.until", "保管至", "Kept until"),
    ("role.admin", "系统管理员", "Administrator"),
    ("role.auditor", "审计员", "Auditor"),
    ("role.clerk", "档案管理员", "Records clerk"),
    ("role.staff", "业务人员", "Staff"),
    ("role.supervisor", "部门负责人", "Supervisor"),
    ("search.all", "全部", "All"),
    ("search.by_date", "按日期", "By date"),
    ("search.by_relevance", "按相关度", "By relevance"),
    (
        "search.empty",
        "没有找到匹配的档案。试试更少的词、车架号后几位、车牌或委托书号。",
        "Nothing matched. Try fewer words, the last digits of a VIN, a plate or an order number.",
    ),
    ("search.facets", "筛选", "Narrow down"),
    (
        "search.hint",
        "输入词语、车架号（或后几位）、车牌、委托书号或客户电话",
        "Type words, a VIN (or its last digits), a plate, an order number or a customer's phone",
    ),
    ("search.label", "检索档案", "Search the archive"),
    ("search.next", "下一页", "Next"),
    ("search.page", "第 {} 页", "Page {}"),
    ("search.prev", "上一页", "Previous"),
    ("search.results", "检索结果", "Results"),
    ("search.sort", "排序", "Sort"),
    (
        "search.start",
        "在上方输入要找的内容。",
        "Type what you are looking for above.",
    ),
    ("search.submit", "检索", "Search"),
    ("search.total", "共 {} 份", "{} documents"),
    ("search.year", "年份", "Year"),
    ("service.order_no", "委托书号", "Order number"),
    ("service.service_date", "服务日期", "Service date"),
    ("service.technician", "技师", "Technician"),
    ("skip", "跳到主要内容", "Skip to content"),
    ("stats.by_branch", "按机构", "By branch"),
    ("stats.by_category", "按类别", "By category"),
    ("stats.by_month", "按月份", "By month"),
    ("stats.denials", "拒绝", "Denials"),
    ("stats.downloads", "下载", "Downloads"),
    (
        "stats.empty",
        "日志中还没有可统计的记录。",
        "The log holds nothing to count yet.",
    ),
    ("stats.export", "导出 CSV", "Export CSV"),
    ("stats.filings", "归档", "Filings"),
    ("stats.grants", "授权", "Grants"),
    (
        "stats.intro",
        "数字直接由调阅日志统计：每个数字都可追溯到日志记录。月份按档案所在时区计。",
        "Counted from the retrieval log itself: every figure traces to its records. Months are in the archive's time zone.",
    ),
    ("stats.none", "（无）", "(none)"),
    ("stats.reads", "查阅", "Reads"),
    (
        "stats.see_table",
        "数字见下表。",
        "the figures are in the table below.",
    ),
    ("stats.title", "统计", "Statistics"),
    ("stats.totals", "合计", "Totals"),
    ("summary", "摘要", "Summary"),
    ("switch_lang", "English", "中文"),
    ("system.active_key", "当前主密钥", "Active master key"),
    ("system.checked", "已检查文档", "Documents checked"),
    ("system.index", "检索索引", "Search index"),
    (
        "system.indexed",
        "检索索引共收录 {} 份文档。",
        "The search index holds {} documents.",
    ),
    ("system.keys", "密钥轮换", "Key rotation"),
    ("system.rebuild", "重建索引", "Rebuild the index"),
    (
        "system.rebuild_hint",
        "从对象存储重新读取全部文档并重建检索索引；期间检索结果可能不完整。",
        "Reads every document from the object store again and rebuilds the search index; searches may miss documents meanwhile.",
    ),
    ("system.rebuilding", "正在重建索引", "Rebuilding the index"),
    (
        "system.rebuilt",
        "索引已重建：{} 份文档。",
        "The index is rebuilt: {} documents.",
    ),
    ("system.remaining", "仍待重新封装", "Still to rewrap"),
    ("system.retired", "已退役的主密钥", "Retired master keys"),
    (
        "system.rewrapped",
        "已重新封装（清单 + 对象）",
        "Rewrapped (manifests + objects)",
    ),
    ("system.rotation", "轮换状态", "Rotation"),
    ("system.rotation.done", "已完成", "Done"),
    (
        "system.rotation.failed",
        "未完成（下次启动时继续）",
        "Not finished (resumes at the next start)",
    ),
    (
        "system.rotation.idle",
        "无需轮换（未配置退役密钥）",
        "Nothing to rotate (no retired key configured)",
    ),
    ("system.rotation.running", "进行中", "Running"),
    (
        "system.rotation_hint",
        "轮换由服务器在启动时按配置自动进行：把退役主密钥加入配置并设置新密钥后重启即可。",
        "The server rotates by itself at start: configure the retired master key beside the new one and restart.",
    ),
    ("system.started", "开始时间", "Started"),
    ("system.title", "系统状态", "System"),
    ("tags", "标签（用分号分隔）", "Tags (separated by ;)"),
    ("timeline.customer", "客户档案", "Customer history"),
    (
        "timeline.customer_hint",
        "输入客户电话，查看该客户的全部档案。",
        "Enter a customer's phone number to see their history.",
    ),
    (
        "timeline.empty",
        "这里还没有您可以查看的档案。",
        "There is nothing here you may see yet.",
    ),
    ("timeline.vehicle", "一车一档", "Vehicle archive"),
    ("title", "标题", "Title"),
    ("users.active", "启用", "Active"),
    (
        "users.branch_hint",
        "门店代码（如 BJ01），集团级用户填 *。",
        "A branch code such as BJ01, or * for group-level users.",
    ),
    ("users.create", "创建用户", "Create user"),
    ("users.disabled", "已停用", "Disabled"),
    ("users.new", "新建用户", "New user"),
    (
        "users.new_password",
        "新密码（不改则留空）",
        "New password (leave blank to keep)",
    ),
    ("users.password", "初始密码", "Initial password"),
    (
        "users.password_hint",
        "至少 12 个字符。设置后该用户已登录的会话失效。",
        "At least 12 characters. Sessions the user has open end when it is set.",
    ),
    (
        "users.rules",
        "三员分立：系统管理员角色只能单独持有；不能修改自己的角色。",
        "Separation of duties: the administrator role is held alone, and nobody changes their own roles.",
    ),
    ("users.save", "保存", "Save"),
    ("users.saved", "已保存用户 {}。", "User {} saved."),
    ("users.state", "状态", "State"),
    ("users.title", "用户管理", "Users"),
    ("vehicle", "车辆", "Vehicle"),
    ("vehicle.mileage_km", "里程（公里）", "Mileage (km)"),
    ("vehicle.model", "车型", "Model"),
    ("vehicle.plate", "车牌号", "Plate"),
    (
        "vehicle.plate_bad",
        "车牌格式不对，例如 京A·12345",
        "Not a plate; for example 京A·12345",
    ),
    ("vehicle.vin", "车架号（VIN）", "VIN"),
    (
        "vehicle.vin_bad",
        "车架号应为 17 位，不含 I、O、Q，第 9 位校验位要正确",
        "A VIN has 17 characters without I, O or Q, and a correct check digit in position 9",
    ),
    (
        "vehicle.vin_ok",
        "车架号校验通过",
        "VIN check digit is correct",
    ),
    ("verify.anchored", "已锚定至", "Anchored through"),
    (
        "verify.checkpoints",
        "核对的签名检查点",
        "Signed checkpoints checked",
    ),
    (
        "verify.damaged",
        "日志已被改动：自所示记录起不可信。",
        "The log was altered: from the record shown on it cannot be trusted.",
    ),
    ("verify.first_bad", "第一条问题记录", "First bad record"),
    (
        "verify.head",
        "最后一条完好记录的哈希",
        "Hash of the last good record",
    ),
    (
        "verify.intro",
        "校验先封存一个新的签名检查点，再把整条日志与所有检查点逐一核对。",
        "Verifying first seals a new signed checkpoint, then checks the whole log against every checkpoint.",
    ),
    (
        "verify.ok",
        "日志完好，且全部有签名检查点锚定。",
        "The log is intact, and every record is anchored by a signed checkpoint.",
    ),
    ("verify.problem", "问题", "Problem"),
    ("verify.records", "核对记录数", "Records checked"),
    ("verify.run", "立即校验", "Verify now"),
    ("verify.status", "状态", "Status"),
    ("verify.title", "日志校验", "Verify the log"),
    (
        "verify.unanchored",
        "日志完好，但有记录尚未被签名检查点覆盖。",
        "The log is intact, but some records are not yet covered by a signed checkpoint.",
    ),
    ("verify.unanchored_from", "未锚定起始", "Unanchored from"),
    ("version.add", "上传新版本", "Add a version"),
    (
        "version.done",
        "新版本已保存。",
        "The new version was saved.",
    ),
    ("version.file", "新版本的文件", "File of the new version"),
    ("version.submit", "保存新版本", "Save version"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_sorted_unique_and_complete_in_both_languages() {
        for pair in TEXTS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (key, zh, en) in TEXTS {
            assert!(!zh.is_empty() && !en.is_empty(), "{key}");
        }
        assert_eq!(Lang::Zh.t("nav.search"), "检索");
        assert_eq!(Lang::En.t("nav.search"), "Search");
    }

    /// Every metadata field a page shows or corrects has a label.
    #[test]
    fn every_metadata_field_has_a_label() {
        for key in crate::web::pages::FIELDS {
            assert!(Lang::En.t_opt(key).is_some(), "{key}");
        }
    }

    /// Every `c.t("…")` in a template names a listed key.
    #[test]
    fn every_key_the_templates_use_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/templates");
        let mut used = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("c.t(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                used += 1;
                assert!(
                    TEXTS.binary_search_by(|(k, _, _)| (*k).cmp(key)).is_ok(),
                    "{}: key `{key}` is not in TEXTS",
                    path.display()
                );
            }
        }
        assert!(used > 50, "the scan found the templates' keys ({used})");
    }
}
