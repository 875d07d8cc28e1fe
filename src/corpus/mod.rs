//! Synthetic dealership records for tests and benchmarks: repair orders,
//! warranty records, complaints, sales contracts… mostly Chinese, some English,
//! with values that pass real-world checks (VIN check digits, ID-number checksums,
//! mobile numbers, plate formats). Deterministic for a given seed.

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::domain::vehicle::vin_check_digit;

pub mod files;
pub mod hostile;
pub mod pdf;

const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
const GIVEN: &str = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯佳欣怡晨阳雪梅琳丹婷蕾颖峰";
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
pub const BRANCHES: [&str; 6] = ["BJ01", "BJ02", "SH01", "GZ01", "CD01", "WH01"];
const MODELS: [&str; 12] = [
    "大众帕萨特",
    "大众朗逸",
    "丰田凯美瑞",
    "丰田卡罗拉",
    "本田雅阁",
    "日产轩逸",
    "比亚迪汉EV",
    "吉利星越L",
    "宝马3系",
    "奥迪A4L",
    "别克GL8",
    "特斯拉Model 3",
];
const WMI: [&str; 8] = ["LFV", "LVG", "LHG", "LGB", "LGX", "LB3", "LS5", "LBV"];
/// (fault description, system, repair items): the Chinese fault terms a search must find.
pub const FAULTS: [(&str, &str, [&str; 3]); 10] = [
    (
        "发动机异响",
        "发动机",
        ["更换正时皮带", "检查气门间隙", "更换液压挺柱"],
    ),
    (
        "刹车片磨损",
        "制动系统",
        ["更换前刹车片", "更换刹车盘", "制动液更换"],
    ),
    (
        "变速箱顿挫",
        "变速箱",
        ["变速箱油更换", "变速箱程序升级", "更换阀体"],
    ),
    (
        "空调不制冷",
        "空调系统",
        ["加注冷媒", "更换空调压缩机", "清洗冷凝器"],
    ),
    ("轮胎鼓包", "轮胎", ["更换轮胎", "四轮定位", "动平衡"]),
    (
        "电瓶亏电",
        "电气系统",
        ["更换蓄电池", "检查发电机", "排查静态电流"],
    ),
    (
        "机油泄漏",
        "发动机",
        ["更换气门室盖垫", "更换油底壳密封", "更换机油滤清器"],
    ),
    (
        "转向助力失灵",
        "转向系统",
        ["更换转向助力泵", "检查助力油管", "更换转向机"],
    ),
    (
        "冷却液渗漏",
        "冷却系统",
        ["更换水泵", "更换节温器", "更换散热器"],
    ),
    (
        "动力电池续航下降",
        "三电系统",
        ["电池包均衡", "更换电芯模组", "BMS软件升级"],
    ),
];
const TECHS: [&str; 5] = ["李师傅", "王师傅", "张工", "刘工", "陈师傅"];
const ENGLISH: [&str; 4] = [
    "engine knocking at idle",
    "brake pads worn below limit",
    "transmission slipping",
    "battery drains overnight",
];
const CATEGORIES: [(&str, u32); 7] = [
    ("WX", 45),
    ("SB", 10),
    ("ZL", 12),
    ("XS", 12),
    ("KH", 8),
    ("KJ", 10),
    ("XZ", 3),
];

/// One generated record: metadata as the API takes it, the document's text, a filename.
#[derive(Debug, Clone)]
pub struct Record {
    pub metadata: Value,
    pub body: String,
    pub filename: String,
}

fn pick_char(rng: &mut StdRng, set: &str) -> char {
    let chars: Vec<char> = set.chars().collect();
    chars[rng.random_range(0..chars.len())]
}

pub fn vin(rng: &mut StdRng, year: i32) -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
    let year_code = b"ABCDEFGHJKLMNPRSTVWXY123456789"[((year - 2010).rem_euclid(30)) as usize];
    let mut v: Vec<u8> = WMI.choose(rng).expect("non-empty").bytes().collect();
    v.extend((0..5).map(|_| CHARS[rng.random_range(0..CHARS.len())]));
    v.push(b'0');
    v.push(year_code);
    v.push(b"ABCDEFGH"[rng.random_range(0..8)]);
    v.extend((0..6).map(|_| b'0' + rng.random_range(0..10u8)));
    v[8] = vin_check_digit(&v).expect("generated from the VIN alphabet");
    String::from_utf8(v).expect("ascii")
}

pub fn id_number(rng: &mut StdRng) -> String {
    let area = ["110101", "310104", "440106", "510107"]
        .choose(rng)
        .expect("non-empty");
    let born = NaiveDate::from_ymd_opt(1960, 1, 1).expect("date")
        + chrono::Days::new(rng.random_range(0..365 * 45));
    let first17 = format!(
        "{area}{}{:03}",
        born.format("%Y%m%d"),
        rng.random_range(0..1000)
    );
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

pub fn plate(rng: &mut StdRng) -> String {
    const TAIL: &str = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut p = String::new();
    p.push(pick_char(rng, PROVINCES));
    p.push(pick_char(rng, "ABCDEFGHJKLMNPQRSTUVWXYZ"));
    (0..5).for_each(|_| p.push(pick_char(rng, TAIL)));
    p
}

pub fn phone(rng: &mut StdRng) -> String {
    format!(
        "1{}{:09}",
        pick_char(rng, "3456789"),
        rng.random_range(0..1_000_000_000u64)
    )
}

pub fn name(rng: &mut StdRng) -> String {
    let mut n = String::new();
    n.push(pick_char(rng, SURNAMES));
    (0..rng.random_range(1..=2)).for_each(|_| n.push(pick_char(rng, GIVEN)));
    n
}

struct Vehicle {
    vin: String,
    plate: String,
    model: &'static str,
    owner: (String, String, String),
    branch: &'static str,
    mileage: u32,
}

/// Generates `count` records over a fleet of `count / 8` (at least 10) vehicles,
/// so that a VIN has a history.
pub fn generate(count: usize, seed: u64) -> Vec<Record> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut fleet: Vec<Vehicle> = (0..(count / 8).max(10))
        .map(|_| {
            let year = rng.random_range(2014..2027);
            Vehicle {
                vin: vin(&mut rng, year),
                plate: plate(&mut rng),
                model: MODELS.choose(&mut rng).expect("non-empty"),
                owner: (name(&mut rng), phone(&mut rng), id_number(&mut rng)),
                branch: BRANCHES.choose(&mut rng).expect("non-empty"),
                mileage: rng.random_range(500..60_000),
            }
        })
        .collect();
    let mut cats: Vec<&str> = CATEGORIES
        .iter()
        .flat_map(|(c, w)| std::iter::repeat_n(*c, *w as usize))
        .collect();
    cats.shuffle(&mut rng);
    let start = NaiveDate::from_ymd_opt(2019, 1, 1).expect("date");
    (0..count)
        .map(|i| {
            let category = *cats.choose(&mut rng).expect("non-empty");
            let vi = rng.random_range(0..fleet.len());
            fleet[vi].mileage += rng.random_range(300..9000);
            let v = &fleet[vi];
            let day = start + chrono::Days::new(rng.random_range(0..365 * 7));
            let order_no = format!("{}-{}-{i:06}", v.branch, day.format("%Y%m%d"));
            let fault = FAULTS.choose(&mut rng).expect("non-empty");
            let body = body_for(&mut rng, category, v, &order_no, day, fault);
            let level = match category {
                _ if rng.random_bool(0.03) => "restricted",
                "XS" | "KH" | "KJ" => "confidential",
                _ => "internal",
            };
            let tags: Vec<&str> = if matches!(category, "WX" | "SB") { vec![fault.1] } else { vec![] };
            let metadata = json!({
                "category": category,
                "title": format!("{} {} {day}", title(category), v.plate),
                "vehicle": {"vin": v.vin, "plate": v.plate, "model": v.model, "mileage_km": v.mileage},
                "customer": {"name": v.owner.0, "phone": v.owner.1, "id_number": v.owner.2},
                "service": {"order_no": order_no, "service_date": day.to_string(), "technician": TECHS.choose(&mut rng).expect("non-empty")},
                "branch": v.branch,
                "confidentiality": level,
                "tags": tags,
            });
            Record { metadata, body, filename: format!("{order_no}.txt") }
        })
        .collect()
}

fn title(category: &str) -> &'static str {
    match category {
        "WX" => "维修委托书",
        "SB" => "三包维修记录",
        "ZL" => "服务质量记录",
        "XS" => "销售合同",
        "KH" => "客户信息档案",
        "KJ" => "维修结算清单",
        _ => "员工培训记录",
    }
}

fn body_for(
    rng: &mut StdRng,
    category: &str,
    v: &Vehicle,
    order_no: &str,
    day: NaiveDate,
    fault: &(&str, &str, [&str; 3]),
) -> String {
    let (owner, phone, id) = &v.owner;
    let head = format!(
        "{} 车架号{} 车牌{} 行驶里程{}公里。客户{owner},联系电话{phone}。",
        v.model, v.vin, v.plate, v.mileage
    );
    let (desc, system, items) = fault;
    match category {
        "WX" => {
            let hours = rng.random_range(1..9);
            let mut text = format!(
                "维修委托书 {order_no}\n送修日期:{day}。{head}\n故障描述:客户反映{desc},{system}需检查。\n检查结果:经{}检测,确认{system}存在{desc}问题。\n维修项目:{}。\n维修工时:{hours}小时,工时费{}元。\n质量检验:竣工检验合格,出具竣工出厂合格证。",
                TECHS.choose(rng).expect("non-empty"),
                items.choose(rng).expect("non-empty"),
                hours * 180
            );
            if rng.random_bool(0.08) {
                text.push_str(&format!(
                    "\nTechnician note: customer reports {}; verified on road test.",
                    ENGLISH.choose(rng).expect("non-empty")
                ));
            }
            text
        }
        "SB" => format!(
            "三包维修记录 {order_no}\n{head}\n送修问题:{desc}。检查结果:{system}故障,属于三包责任范围。\n修理项目:{}。交车时间:{day}。",
            items.choose(rng).expect("non-empty")
        ),
        "ZL" => format!(
            "客户投诉记录 {order_no}\n{head}\n投诉内容:维修等待时间过长。处理措施:服务经理已致电客户道歉并安排回访。"
        ),
        "XS" => format!(
            "汽车销售合同 {order_no}\n买方:{owner},身份证号{id},电话{phone}。\n车型:{},车架号{}。成交价格:人民币{}元。交车日期:{day}。",
            v.model,
            v.vin,
            rng.random_range(80..600) * 1000
        ),
        "KH" => format!(
            "客户信息档案\n客户姓名:{owner},身份证号{id},手机{phone}。\n名下车辆:{}({}),车架号{}。个人信息处理同意书已签署,日期{day}。",
            v.model, v.plate, v.vin
        ),
        "KJ" => format!(
            "维修结算清单 {order_no}\n{head}\n结算日期:{day}。结算金额:{}元(含税)。",
            rng.random_range(200..30_000)
        ),
        _ => format!(
            "员工资质与培训记录\n员工:{},岗位:维修技师。\n培训内容:新能源高压安全,考核成绩{}分。日期{day}。",
            name(rng),
            rng.random_range(70..100)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::metadata::Metadata;
    use crate::domain::{Classification, Vin};

    #[test]
    fn generated_records_pass_the_real_checks() {
        let scheme =
            Classification::from_toml(include_str!("../../schema/classification.toml")).unwrap();
        for r in generate(300, 7) {
            Metadata::from_value(r.metadata.clone(), &scheme)
                .unwrap_or_else(|e| panic!("{e}: {}", r.metadata));
            assert!(Vin::parse(r.metadata["vehicle"]["vin"].as_str().unwrap()).is_ok());
            assert!(!r.body.is_empty());
        }
    }

    #[test]
    fn generation_is_deterministic() {
        let a = generate(20, 1);
        let b = generate(20, 1);
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.metadata == y.metadata && x.body == y.body)
        );
    }
}
