"""导出Excel / 设备档案导入: the archive as .xlsx, the import template, and the import."""
